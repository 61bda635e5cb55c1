package dev.strata.controlapi.http;

import dev.strata.pgcore.auth.AuthException;
import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenVerifier;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import java.util.Locale;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every request needs {@code Authorization: Bearer <token>} of scope {@code controlapi}, whatever its
 * path (an unknown path is a 401 before it is a 404, so the API's shape is not shown to strangers).
 * 401 (with {@code WWW-Authenticate: Bearer}) for no token or one that does not verify; 403 for a
 * valid token of another scope. Checked here before any controller code runs, with the verifier the
 * other listeners use (pgcore {@link TokenVerifier}).
 */
@Requires(property = ControlApiServer.SERVICE_PROPERTY, value = ControlApiServer.SERVICE)
@ServerFilter(ServerFilter.MATCH_ALL_PATTERN)
final class AuthFilter {

    private static final Logger log = LoggerFactory.getLogger(AuthFilter.class);
    static final Set<Scope> ACCEPTED = Set.of(Scope.CONTROL_API);

    private final TokenVerifier verifier;

    AuthFilter(TokenVerifier verifier) {
        this.verifier = verifier;
    }

    @RequestFilter
    @Nullable
    HttpResponse<Dto.Error> authorize(HttpRequest<?> request) {
        try {
            verifier.authorize(BearerToken.fromHeader(request.getHeaders().get(BearerToken.HEADER)), ACCEPTED);
            return null; // on to the controller
        } catch (AuthException e) {
            boolean unauthenticated = e.reason().unauthenticated();
            log.debug("{} {} from {}: {} {}", request.getMethod(), request.getPath(), request.getRemoteAddress(),
                    unauthenticated ? 401 : 403, e.getMessage());
            var response = HttpResponse.<Dto.Error>status(unauthenticated ? HttpStatus.UNAUTHORIZED : HttpStatus.FORBIDDEN)
                    .contentType(MediaType.APPLICATION_JSON_TYPE)
                    .body(new Dto.Error(unauthenticated ? "unauthorized" : "forbidden",
                            e.reason().name().toLowerCase(Locale.ROOT) + ": " + e.getMessage()));
            if (unauthenticated) {
                response.header("WWW-Authenticate", "Bearer");
            }
            return response;
        }
    }
}
