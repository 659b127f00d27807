"""Model files: models.txt, verified downloads, the start-up check of what ComfyUI sees."""
