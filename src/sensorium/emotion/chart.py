"""The emotion timeline as a PNG (matplotlib, Agg): one line per emotion, utterances shaded by their emotion.

Pure: an `EmotionResult` in, PNG bytes out. What it draws is exactly the result's `timeline`.
"""

from __future__ import annotations

import io

from sensorium.emotion.schemas import EmotionResult
from sensorium.emotion.text_model import EMOTIONS

COLORS = {"anger": "#d62728", "disgust": "#8c564b", "fear": "#9467bd", "joy": "#e6a700", "neutral": "#7f7f7f",
          "sadness": "#1f77b4", "surprise": "#2ca02c"}


def timeline_png(result: EmotionResult, width: float = 10.0, height: float = 4.0) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    try:
        xs = [p.time for p in result.timeline]
        for emotion in EMOTIONS:
            ax.plot(xs, [p.scores[emotion] for p in result.timeline], label=emotion, color=COLORS[emotion],
                    linewidth=1.8 if emotion != "neutral" else 1.2, marker="o" if len(xs) < 30 else None,
                    markersize=3)
        for u in result.utterances:
            if u.start is not None and u.end is not None:
                ax.axvspan(u.start, u.end, color=COLORS[u.emotion], alpha=0.08, linewidth=0)
        ax.set_ylim(0, 1)
        ax.set_xlabel("sentence" if result.source == "text" else "seconds")
        ax.set_ylabel("probability")
        title = f"Emotion over time ({result.source}"
        title += f", overall {result.overall.emotion})" if result.overall.emotion else ")"
        ax.set_title(title)
        ax.legend(loc="upper right", ncol=4, fontsize=8, frameon=False)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)
