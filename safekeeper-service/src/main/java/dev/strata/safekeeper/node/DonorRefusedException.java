package dev.strata.safekeeper.node;

/**
 * An elected message names a donor the caller may not send this node to (HTTP 403): a compute
 * token may name only this node or a configured peer (docs/safekeeper.md, "Authentication").
 */
public final class DonorRefusedException extends RuntimeException {
    public DonorRefusedException(String message) {
        super(message);
    }
}
