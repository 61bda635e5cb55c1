package dev.strata.pageserver.testing;

import dev.strata.pageserver.client.PageserverClient;
import dev.strata.pageserver.http.PageserverConfig;
import dev.strata.pageserver.http.PageserverServer;
import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.testing.TestAuth;
import java.net.http.HttpRequest;
import java.nio.file.Path;

/**
 * What tests need to talk to a pageserver now that both its listeners require a token: one
 * signing key for the test JVM, a config that trusts it, and clients that present a
 * {@code pageserverapi} token. Tests of refusals use {@link #AUTH} for other tokens.
 */
public final class TestPageservers {

    public static final TestAuth AUTH = new TestAuth();
    private static final String TOKEN = AUTH.token(Scope.PAGESERVER_API);

    private TestPageservers() {
    }

    /** {@link PageserverConfig#local} trusting {@link #AUTH}. */
    public static PageserverConfig config(Path dataDir) {
        return PageserverConfig.local(dataDir, AUTH.verifier());
    }

    /** The management API's and page service's token (scope {@code pageserverapi}). */
    public static String token() {
        return TOKEN;
    }

    /** A page service client authenticated with {@link #token()}. */
    public static PageserverClient client(PageserverServer ps) {
        return new PageserverClient("127.0.0.1", ps.pageServicePort(), TOKEN);
    }

    /** Adds the {@code Authorization: Bearer} header with {@link #token()}. */
    public static HttpRequest.Builder authorized(HttpRequest.Builder b) {
        return b.header(BearerToken.HEADER, BearerToken.headerValue(TOKEN));
    }
}
