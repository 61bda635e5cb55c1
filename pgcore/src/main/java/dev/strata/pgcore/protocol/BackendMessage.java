package dev.strata.pgcore.protocol;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A message a PostgreSQL server sends to a client (protocol 3.0), as the client-side
 * {@link BackendMessageDecoder} produces it and the server-side {@link BackendMessageEncoder}
 * writes it.
 *
 * <p>{@link EncryptionResponse} is the single untyped byte answering an SSLRequest or
 * GSSENCRequest. Byte arrays are taken as they are, not copied: neither side may modify
 * them afterwards.
 */
public sealed interface BackendMessage {

    /** {@code 'S'} or {@code 'N'}: whether the server will start TLS / GSS encryption now. */
    record EncryptionResponse(boolean accepted) implements BackendMessage {
        public static final EncryptionResponse ACCEPTED = new EncryptionResponse(true);
        public static final EncryptionResponse REFUSED = new EncryptionResponse(false);
    }

    /** Every {@code 'R'} message; the code is the first int32 of the body. */
    sealed interface Authentication extends BackendMessage {
    }

    record AuthenticationOk() implements Authentication {
        public static final AuthenticationOk INSTANCE = new AuthenticationOk();
    }

    record AuthenticationCleartextPassword() implements Authentication {
        public static final AuthenticationCleartextPassword INSTANCE = new AuthenticationCleartextPassword();
    }

    record AuthenticationMD5Password(byte[] salt) implements Authentication {
        public AuthenticationMD5Password {
            if (salt == null || salt.length != 4) {
                throw new IllegalArgumentException("MD5 salt must be 4 bytes");
            }
        }
    }

    /** The server offers these SASL mechanisms, e.g. {@code SCRAM-SHA-256}. */
    record AuthenticationSASL(List<String> mechanisms) implements Authentication {
        public AuthenticationSASL {
            mechanisms = List.copyOf(mechanisms);
            for (String m : mechanisms) {
                Wire.requireCString("mechanism", m);
                if (m.isEmpty()) {
                    throw new IllegalArgumentException("empty SASL mechanism name");
                }
            }
        }
    }

    record AuthenticationSASLContinue(byte[] data) implements Authentication {
        public AuthenticationSASLContinue {
            Objects.requireNonNull(data, "data is null");
        }
    }

    record AuthenticationSASLFinal(byte[] data) implements Authentication {
        public AuthenticationSASLFinal {
            Objects.requireNonNull(data, "data is null");
        }
    }

    record ParameterStatus(String name, String value) implements BackendMessage {
        public ParameterStatus {
            Wire.requireCString("name", name);
            Wire.requireCString("value", value);
        }
    }

    /** What a client needs to cancel this backend's queries later. */
    record BackendKeyData(int processId, int secretKey) implements BackendMessage {
    }

    /** The server waits for the next query; the status is the transaction block state. */
    record ReadyForQuery(TransactionStatus status) implements BackendMessage {
        public static final ReadyForQuery IDLE = new ReadyForQuery(TransactionStatus.IDLE);

        public ReadyForQuery {
            Objects.requireNonNull(status, "status is null");
        }
    }

    /** The {@code 'I'}, {@code 'T'}, {@code 'E'} byte of ReadyForQuery. */
    enum TransactionStatus {
        IDLE('I'), IN_TRANSACTION('T'), FAILED('E');

        private final char code;

        TransactionStatus(char code) {
            this.code = code;
        }

        public char code() {
            return code;
        }

        public static TransactionStatus of(int code) {
            for (TransactionStatus s : values()) {
                if (s.code == code) {
                    return s;
                }
            }
            throw new ProtocolException("unknown transaction status in ReadyForQuery: " + Wire.describeByte(code));
        }
    }

    /**
     * ErrorResponse and NoticeResponse: fields keyed by their one-byte code
     * ({@code S} severity, {@code V} non-localized severity, {@code C} SQLSTATE,
     * {@code M} message, {@code D} detail, {@code H} hint, {@code P} position, ...).
     */
    sealed interface WithFields extends BackendMessage {
        Map<Character, String> fields();

        default String severity() {
            return fields().getOrDefault('V', fields().get('S'));
        }

        default String code() {
            return fields().get('C');
        }

        default String message() {
            return fields().get('M');
        }

        default String detail() {
            return fields().get('D');
        }

        default String hint() {
            return fields().get('H');
        }
    }

    record ErrorResponse(Map<Character, String> fields) implements WithFields {
        public ErrorResponse {
            fields = Wire.checkFields(fields);
        }

        /** The fields every client relies on: severity (both forms), SQLSTATE, message. */
        public static ErrorResponse of(String severity, String sqlState, String message) {
            return new ErrorResponse(Wire.standardFields(severity, sqlState, message));
        }
    }

    record NoticeResponse(Map<Character, String> fields) implements WithFields {
        public NoticeResponse {
            fields = Wire.checkFields(fields);
        }

        public static NoticeResponse of(String severity, String sqlState, String message) {
            return new NoticeResponse(Wire.standardFields(severity, sqlState, message));
        }
    }

    /** Column metadata of the rows that follow. */
    record RowDescription(List<Field> fields) implements BackendMessage {
        public RowDescription {
            fields = List.copyOf(fields);
        }
    }

    /** One column of a RowDescription; format 0 is text, 1 binary. */
    record Field(String name, int tableOid, short columnNumber, int typeOid, short typeSize,
                 int typeModifier, short format) {
        /** Type OIDs from pg_type.h that our own servers describe columns with. */
        public static final int INT4_OID = 23;
        public static final int INT8_OID = 20;
        public static final int TEXT_OID = 25;

        public Field {
            Wire.requireCString("field name", name);
        }

        /** A computed text-format column, as {@code SELECT 1 AS name} describes it. */
        public static Field text(String name, int typeOid) {
            return new Field(name, 0, (short) 0, typeOid, (short) -1, -1, (short) 0);
        }
    }

    /** One row; a null entry is SQL NULL. */
    record DataRow(List<byte[]> values) implements BackendMessage {
        public DataRow {
            values = Collections.unmodifiableList(Arrays.asList(values.toArray(new byte[0][])));
        }
    }

    /** A command finished; the tag says which and how many rows, e.g. {@code SELECT 1}. */
    record CommandComplete(String tag) implements BackendMessage {
        public CommandComplete {
            Wire.requireCString("tag", tag);
        }
    }

    record EmptyQueryResponse() implements BackendMessage {
        public static final EmptyQueryResponse INSTANCE = new EmptyQueryResponse();
    }

    /** Starts COPY FROM STDIN: format 0 text, 1 binary, one format code per column. */
    record CopyInResponse(byte format, List<Short> columnFormats) implements BackendMessage {
        public CopyInResponse {
            columnFormats = List.copyOf(columnFormats);
        }
    }

    record CopyOutResponse(byte format, List<Short> columnFormats) implements BackendMessage {
        public CopyOutResponse {
            columnFormats = List.copyOf(columnFormats);
        }
    }

    /** Starts streaming replication (copy both ways). */
    record CopyBothResponse(byte format, List<Short> columnFormats) implements BackendMessage {
        public CopyBothResponse {
            columnFormats = List.copyOf(columnFormats);
        }
    }

    /** COPY data; in replication it carries XLogData or a keepalive. */
    record CopyData(byte[] data) implements BackendMessage {
        public CopyData {
            Objects.requireNonNull(data, "data is null");
        }
    }

    record CopyDone() implements BackendMessage {
        public static final CopyDone INSTANCE = new CopyDone();
    }

    /** LISTEN/NOTIFY delivery; may arrive at any time. */
    record NotificationResponse(int processId, String channel, String payload) implements BackendMessage {
        public NotificationResponse {
            Wire.requireCString("channel", channel);
            Wire.requireCString("payload", payload);
        }
    }

    /** The server supports only an older minor version or none of the named options. */
    record NegotiateProtocolVersion(int newestMinorVersion, List<String> unrecognizedOptions)
            implements BackendMessage {
        public NegotiateProtocolVersion {
            unrecognizedOptions = List.copyOf(unrecognizedOptions);
            unrecognizedOptions.forEach(o -> Wire.requireCString("option", o));
        }
    }
}
