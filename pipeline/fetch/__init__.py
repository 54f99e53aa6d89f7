"""Adding sources by URL: a robust HTTP GET, HTML-to-text extraction and snapshot files.

Only `crampkg fetch` and `crampkg refs resolve` use the network; the build never does. See
docs/fetch.md.
"""
