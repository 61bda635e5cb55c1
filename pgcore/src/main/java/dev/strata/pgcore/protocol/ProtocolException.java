package dev.strata.pgcore.protocol;

import io.netty.handler.codec.DecoderException;

import java.util.Objects;

/**
 * Malformed or hostile input on a PostgreSQL protocol connection, with the SQLSTATE to
 * report to the peer ({@code 08P01} protocol_violation unless said otherwise).
 *
 * <p>It extends Netty's {@link DecoderException} so that a decoder's rejection reaches
 * {@code exceptionCaught} as itself rather than wrapped; the handler there answers with
 * {@link #toErrorResponse()} and closes the connection.
 */
public class ProtocolException extends DecoderException {

    /** SQLSTATE {@code protocol_violation}. */
    public static final String PROTOCOL_VIOLATION = "08P01";
    /** SQLSTATE {@code feature_not_supported}, e.g. an unknown protocol version. */
    public static final String FEATURE_NOT_SUPPORTED = "0A000";
    /** SQLSTATE {@code program_limit_exceeded}, e.g. a message over its length limit. */
    public static final String PROGRAM_LIMIT_EXCEEDED = "54000";

    private final String sqlState;

    public ProtocolException(String message) {
        this(PROTOCOL_VIOLATION, message);
    }

    public ProtocolException(String sqlState, String message) {
        super(Objects.requireNonNull(message, "message is null"));
        this.sqlState = Objects.requireNonNull(sqlState, "sqlState is null");
        if (sqlState.length() != 5) {
            throw new IllegalArgumentException("SQLSTATE must have 5 characters: '" + sqlState + "'");
        }
    }

    public String sqlState() {
        return sqlState;
    }

    /** The FATAL error a server sends before closing a connection that broke the protocol. */
    public BackendMessage.ErrorResponse toErrorResponse() {
        return BackendMessage.ErrorResponse.of("FATAL", sqlState, getMessage());
    }
}
