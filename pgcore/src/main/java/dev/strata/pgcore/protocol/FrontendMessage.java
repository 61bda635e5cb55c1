package dev.strata.pgcore.protocol;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A message a client sends to a PostgreSQL server (protocol 3.0), as the server-side
 * {@link FrontendMessageDecoder} produces it and the client-side
 * {@link FrontendMessageEncoder} writes it.
 *
 * <p>The first four are startup-phase packets without a type byte. Byte arrays are taken
 * as they are, not copied: neither side may modify them afterwards.
 */
public sealed interface FrontendMessage {

    /** Protocol 3.0, the version every PostgreSQL since 7.4 speaks. */
    int PROTOCOL_3_0 = 3 << 16;
    /** Request codes in the protocol-version field of the untyped startup-phase packets. */
    int CANCEL_REQUEST_CODE = (1234 << 16) | 5678;
    int SSL_REQUEST_CODE = (1234 << 16) | 5679;
    int GSSENC_REQUEST_CODE = (1234 << 16) | 5680;

    /** Asks the server whether it will speak TLS; answered by a single byte. */
    record SSLRequest() implements FrontendMessage {
        public static final SSLRequest INSTANCE = new SSLRequest();
    }

    /** Asks the server whether it will speak GSSAPI encryption; answered by a single byte. */
    record GSSENCRequest() implements FrontendMessage {
        public static final GSSENCRequest INSTANCE = new GSSENCRequest();
    }

    /** Sent on a fresh connection to cancel the query running in backend {@code processId}. */
    record CancelRequest(int processId, int secretKey) implements FrontendMessage {
    }

    /**
     * Opens a session. Parameters keep their order; {@code user} is required by servers,
     * {@code database}, {@code options}, {@code replication}, ... are optional.
     */
    record StartupMessage(int protocolVersion, Map<String, String> parameters) implements FrontendMessage {
        public StartupMessage {
            Objects.requireNonNull(parameters, "parameters is null");
            LinkedHashMap<String, String> copy = new LinkedHashMap<>();
            parameters.forEach((k, v) -> {
                Wire.requireCString("parameter name", k);
                Wire.requireCString("parameter " + k, v);
                if (k.isEmpty()) {
                    throw new IllegalArgumentException("empty startup parameter name");
                }
                copy.put(k, v);
            });
            parameters = Collections.unmodifiableMap(copy);
        }

        public static StartupMessage of(Map<String, String> parameters) {
            return new StartupMessage(PROTOCOL_3_0, parameters);
        }

        public int majorVersion() {
            return protocolVersion >>> 16;
        }

        public int minorVersion() {
            return protocolVersion & 0xffff;
        }

        /** The {@code user} parameter, or null when the client sent none. */
        public String user() {
            return parameters.get("user");
        }

        /** The {@code database} parameter, defaulting to the user name as PostgreSQL does. */
        public String database() {
            return parameters.getOrDefault("database", user());
        }
    }

    /** A cleartext or MD5-hashed password ({@code 'p'} answering such a request). */
    record PasswordMessage(String password) implements FrontendMessage {
        public PasswordMessage {
            Wire.requireCString("password", password);
        }
    }

    /** First SASL message: the chosen mechanism and its initial response (null = none). */
    record SASLInitialResponse(String mechanism, byte[] data) implements FrontendMessage {
        public SASLInitialResponse {
            Wire.requireCString("mechanism", mechanism);
        }
    }

    /** A later SASL message from the client. */
    record SASLResponse(byte[] data) implements FrontendMessage {
        public SASLResponse {
            Objects.requireNonNull(data, "data is null");
        }
    }

    /** A simple-protocol query: one string, possibly several statements. */
    record Query(String sql) implements FrontendMessage {
        public Query {
            Wire.requireCString("sql", sql);
        }
    }

    /** Ends the session politely. */
    record Terminate() implements FrontendMessage {
        public static final Terminate INSTANCE = new Terminate();
    }

    /** Data in COPY sub-protocol; in replication it carries a client replication message. */
    record CopyData(byte[] data) implements FrontendMessage {
        public CopyData {
            Objects.requireNonNull(data, "data is null");
        }
    }

    record CopyDone() implements FrontendMessage {
        public static final CopyDone INSTANCE = new CopyDone();
    }

    record CopyFail(String message) implements FrontendMessage {
        public CopyFail {
            Wire.requireCString("message", message);
        }
    }

    /** Extended-protocol Sync: the server answers with ReadyForQuery. */
    record Sync() implements FrontendMessage {
        public static final Sync INSTANCE = new Sync();
    }

    /** Extended-protocol Flush. */
    record Flush() implements FrontendMessage {
        public static final Flush INSTANCE = new Flush();
    }
}
