"""Emotion and sentiment of utterances (issue 10). So far: the text model (`text_model`), its training
(`training`, `finetune`) and the committed weights in `data/`; the original system's trainable multimodal
network (`multimodal`)."""
