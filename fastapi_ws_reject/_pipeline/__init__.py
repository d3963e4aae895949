"""The steps every placement takes for a handshake once a guard or a route has decided: convert what was raised
(`conversion`), answer it, the user's handler first (`answering`), send it (`sending`), and watch a socket that
was let in until it ends (`watching`)."""
