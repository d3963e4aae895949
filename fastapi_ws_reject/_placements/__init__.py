"""Where guards and rejections sit in an app, each feeding the same pipeline (`.._pipeline`): a route
(`routing`, its `endpoint` and the `early_guards` a route served as built checks first), the `middleware`, and the
app's exception `handlers`."""
