"""The ComfyUI side: the HTTP + websocket client, starting the server, supervising it."""
