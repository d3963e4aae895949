"""What the tests share: apps, servers, strategies and helpers. Test modules import from here, never from each other."""
