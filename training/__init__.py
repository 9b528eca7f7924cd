"""Training of WLitePose: datasets, augmentation, targets, losses and the trainer (torch; imports models and core)."""
