"""The officers' web console: server-rendered pages in Kazakh, Russian, Armenian and English,
with htmx for partial updates, every asset served by the node itself.

Pages call the same use cases and queries as the officers' API, with the same permission
checks; a route parses, calls and renders, and decides nothing.
"""
