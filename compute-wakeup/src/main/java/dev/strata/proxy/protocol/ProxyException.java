package dev.strata.proxy.protocol;

import dev.strata.pgcore.protocol.BackendMessage;

import java.util.Objects;

/**
 * A failure the client is told about: a {@link ErrorKind} and a message that is safe to
 * show (it names the endpoint and the limit or value involved, never internal addresses).
 */
public class ProxyException extends RuntimeException {

    private final ErrorKind kind;

    public ProxyException(ErrorKind kind, String message) {
        this(kind, message, null);
    }

    public ProxyException(ErrorKind kind, String message, Throwable cause) {
        super(Objects.requireNonNull(message, "message is null"), cause);
        this.kind = Objects.requireNonNull(kind, "kind is null");
    }

    public ErrorKind kind() {
        return kind;
    }

    /** The FATAL ErrorResponse sent before the proxy closes the connection. */
    public BackendMessage.ErrorResponse toErrorResponse() {
        return BackendMessage.ErrorResponse.of("FATAL", kind.sqlState(), getMessage());
    }
}
