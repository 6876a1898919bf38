"""The `sensorium` command: the root Typer app, one sub-module per capability mounted on it."""

from __future__ import annotations

import typer

from sensorium.cli import accounts, analyze, database, emotion, foley, music, sound, system, train, worker

app = typer.Typer(help="Sensorium: offline media understanding and sound design.", no_args_is_help=True,
                  add_completion=False)
app.command()(system.serve)
app.command()(analyze.analyze)
app.add_typer(system.models_app, name="models")
app.add_typer(system.jobs_app, name="jobs")
app.add_typer(sound.library_app, name="library")
app.add_typer(music.music_app, name="music")
app.command("foley")(foley.foley_command)
app.command("emotion")(emotion.emotion_command)
app.add_typer(train.train_app, name="train")
app.command("worker")(worker.worker)
app.command("migrate")(database.migrate)
app.add_typer(accounts.users_app, name="users")
app.add_typer(accounts.keys_app, name="keys")
app.command()(system.version)


def main() -> None:  # pragma: no cover
    app()
