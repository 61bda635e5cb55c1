package dev.strata.safekeeper.receive;

import dev.strata.pgcore.term.Term;
import java.util.Objects;

/** The compute elected in {@code term}: where its walsender listens and how to log in to it. */
public record ComputeAddress(Term term, String host, int port, String user, String password) {
    public ComputeAddress {
        Objects.requireNonNull(term, "term is null");
        Objects.requireNonNull(host, "host is null");
        Objects.requireNonNull(user, "user is null");
        Objects.requireNonNull(password, "password is null");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is not a TCP port");
        }
    }

    @Override
    public String toString() {
        return "compute of term " + term + " at " + host + ":" + port; // never the password
    }
}
