package dev.strata.pgcore.auth;

import dev.strata.pgcore.auth.AuthException.Reason;

/** The token of an HTTP {@code Authorization: Bearer <token>} header (RFC 6750). */
public final class BearerToken {

    public static final String HEADER = "Authorization";
    private static final String PREFIX = "Bearer ";

    private BearerToken() {
    }

    /** The header value that carries {@code token}. */
    public static String headerValue(String token) {
        return PREFIX + token;
    }

    /** The token in an Authorization header value; refuses a missing header or another scheme. */
    public static String fromHeader(String headerValue) throws AuthException {
        if (headerValue == null || headerValue.isBlank()) {
            throw new AuthException(Reason.MISSING, "authentication required: send 'Authorization: Bearer <token>'");
        }
        if (headerValue.length() < PREFIX.length()
                || !headerValue.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
            throw new AuthException(Reason.MALFORMED, "the Authorization header must use the Bearer scheme");
        }
        String token = headerValue.substring(PREFIX.length()).strip();
        if (token.isEmpty()) {
            throw new AuthException(Reason.MISSING, "authentication required: the Bearer token is empty");
        }
        return token;
    }
}
