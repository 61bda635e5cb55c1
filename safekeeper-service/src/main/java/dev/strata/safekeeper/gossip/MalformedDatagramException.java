package dev.strata.safekeeper.gossip;

/** A position datagram that is not well-formed or not authentic; the message says why. */
public final class MalformedDatagramException extends RuntimeException {
    public MalformedDatagramException(String message) {
        super(message);
    }
}
