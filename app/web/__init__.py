"""The review page for coders in the browser: server-rendered templates, htmx for the decisions."""
