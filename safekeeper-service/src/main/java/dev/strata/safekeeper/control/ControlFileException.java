package dev.strata.safekeeper.control;

/** A control file that cannot be trusted: foreign, truncated, of an unknown version or failing its checksum. */
public final class ControlFileException extends RuntimeException {

    public ControlFileException(String message) {
        super(message);
    }
}
