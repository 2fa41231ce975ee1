"""Build-time code of jupyterlite-stream: the `jupyter lite build` add-on and
the `jupyterlite-stream` command. Nothing here runs inside the kernel."""
