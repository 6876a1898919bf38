"""The original Video Sentiment Analysis system's trainable multimodal network (issue 10), in PyTorch.

`config` (YAML training config), `network` (MiniLM text + 3D-CNN video + audio CNN -> concatenation fusion ->
7 emotions and 3 sentiments), `data` (MELD-format CSV + clips -> cached tensors -> batches), `training` (the
seeded training loop, checkpoint and report), `predict` (a checkpoint's scores for one clip).
See docs/emotion-multimodal.md."""
