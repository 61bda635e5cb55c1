package dev.strata.pgcore.protocol.auth;

/**
 * Which password requests a client answers. A server (or anything posing as one) that asks for
 * a cleartext password gets the password itself; one that asks for MD5 gets a hash that
 * replays against any server with the same user and password and is cheap to brute-force.
 * SCRAM-SHA-256 reveals neither and proves the server knew the password. So Strata's clients
 * answer only SCRAM unless told otherwise.
 */
public enum PasswordPolicy {
    /** Answer only SCRAM-SHA-256; a cleartext or MD5 request fails authentication, nothing is sent. */
    SCRAM_ONLY,
    /** Also answer cleartext and MD5 requests (only for servers configured with {@code password} or {@code md5}). */
    ALLOW_CLEARTEXT_AND_MD5
}
