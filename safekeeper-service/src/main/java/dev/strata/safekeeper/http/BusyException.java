package dev.strata.safekeeper.http;

/** A request refused because its kind is at its concurrency limit; answered 503 {@code busy}, retry shortly. */
final class BusyException extends RuntimeException {
    BusyException(String message) {
        super(message);
    }
}
