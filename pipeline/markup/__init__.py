"""schema.org markup: the inclusion policy, the vendored vocabulary and its checks, the markup
itself, and safe embedding in HTML. See docs/markup.md."""
