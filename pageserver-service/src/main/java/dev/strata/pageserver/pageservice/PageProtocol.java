package dev.strata.pageserver.pageservice;

import dev.strata.pgcore.auth.TokenVerifier;

/**
 * Constants of the page service's binary protocol (docs/pageserver.md, "Page service
 * protocol"). Every frame, both ways: {@code u32 length} (of what follows), {@code u8 type},
 * {@code u32 request id}, body; big-endian. Requests carry a timeline id, an LSN (0: the last
 * record LSN) and a wait bound in milliseconds (0: {@link #DEFAULT_WAIT_MILLIS}). Responses
 * carry the request id of the request they answer, so a client may pipeline.
 *
 * <p>The first frame of every connection is {@link #AUTHENTICATE}, carrying a service token
 * (pgcore {@code auth}); the server answers {@link #AUTHENTICATED} or an error and closes.
 */
public final class PageProtocol {

    public static final int PAGE_SIZE = 8192;

    // request types
    public static final int GET_PAGE = 0x01;
    public static final int REL_SIZE = 0x02;
    public static final int LIST_DATABASES = 0x03;
    public static final int LIST_RELATIONS = 0x04;
    public static final int BASEBACKUP = 0x05;
    public static final int WAIT_LSN = 0x06;
    /** Body: the token, ASCII (a compact JWS); no timeline, LSN or wait. */
    public static final int AUTHENTICATE = 0x07;

    // response types
    public static final int PAGE = 0x81;
    public static final int REL_SIZE_RESULT = 0x82;
    public static final int DATABASES = 0x83;
    public static final int RELATIONS = 0x84;
    public static final int BASEBACKUP_CHUNK = 0x85;
    public static final int BASEBACKUP_END = 0x86;
    public static final int LSN_REACHED = 0x87;
    /** The token was accepted; no body. */
    public static final int AUTHENTICATED = 0x88;
    public static final int ERROR = 0xFF;

    /** Largest request frame (length field value) the server accepts; requests are small. */
    public static final int MAX_REQUEST_FRAME = 256;
    /**
     * Largest {@link #AUTHENTICATE} frame (length field value): type, request id and the
     * longest token a verifier accepts. Only this request type may exceed {@link #MAX_REQUEST_FRAME}.
     */
    public static final int MAX_AUTHENTICATE_FRAME = 1 + 4 + TokenVerifier.MAX_TOKEN_CHARS;
    /** Largest response frame a client accepts (a basebackup chunk is the biggest). */
    public static final int MAX_RESPONSE_FRAME = 1 << 20;
    /** Size of the basebackup chunks the server sends. */
    public static final int BASEBACKUP_CHUNK_BYTES = 256 << 10;
    /** Requests of one connection being worked on at once; reading pauses beyond it. */
    public static final int MAX_IN_FLIGHT = 256;
    /** A wait for WAL when the request gives 0. */
    public static final int DEFAULT_WAIT_MILLIS = 30_000;
    /** The longest wait a request may ask for. */
    public static final int MAX_WAIT_MILLIS = 600_000;
    /** Error messages are cut to this many UTF-8 bytes. */
    public static final int MAX_ERROR_MESSAGE = 4000;
    /** Most entries in one list response. */
    public static final int MAX_LIST_ENTRIES = 100_000;

    /** A {@link #BASEBACKUP} body naming a base: its timeline id (16 bytes) and LSN (u64, valid). */
    public static final int BASEBACKUP_BASE_BYTES = 16 + 8;

    /** type + request id + timeline + lsn + wait. */
    static final int COMMON_REQUEST_BYTES = 1 + 4 + 16 + 8 + 4;

    private PageProtocol() {
    }
}
