"""A job's own LoRAs (issue 20): untrusted safetensors checked before ComfyUI sees them."""
