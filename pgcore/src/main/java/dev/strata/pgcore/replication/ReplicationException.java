package dev.strata.pgcore.replication;

/** A replication connection failed: cannot connect, authentication refused, or the server reported an error. */
public final class ReplicationException extends RuntimeException {

    private final String sqlState;

    public ReplicationException(String message, Throwable cause) {
        super(message, cause);
        this.sqlState = null;
    }

    public ReplicationException(String message, String sqlState) {
        super(message);
        this.sqlState = sqlState;
    }

    /** The server's SQLSTATE when it answered with an ErrorResponse, else null. */
    public String sqlState() {
        return sqlState;
    }
}
