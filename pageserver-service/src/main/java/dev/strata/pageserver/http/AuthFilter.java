package dev.strata.pageserver.http;

import dev.strata.pgcore.auth.AuthException;
import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.auth.Claims;
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
import io.micronaut.web.router.RouteAttributes;
import io.micronaut.web.router.RouteMatch;
import io.micronaut.web.router.UriRouteMatch;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every request to the management API needs {@code Authorization: Bearer <token>} with a scope
 * that {@link ApiAccess} lists for its route; else it is answered here, before any controller
 * code runs (so nothing is read or changed): 401 (with {@code WWW-Authenticate: Bearer}) for no
 * token or one that does not verify (malformed, forged, expired, {@code alg: none}), 403 for a
 * valid token of another scope or a route without a rule. The body has the shape of
 * {@link ErrorMapping}'s, {@code {"error": reason, "message": text}}, the reason being
 * {@link AuthException.Reason} in lower case.
 */
@Requires(property = "strata.service", value = "pageserver")
@ServerFilter(ServerFilter.MATCH_ALL_PATTERN)
final class AuthFilter {

    private static final Logger log = LoggerFactory.getLogger(AuthFilter.class);

    private final TokenVerifier verifier;

    AuthFilter(PageserverNode node) {
        this.verifier = node.config().verifier();
    }

    @RequestFilter
    @Nullable
    HttpResponse<Dto.Error> authorize(HttpRequest<?> request) {
        String route = null;
        Set<Scope> accepted = ApiAccess.NO_ROUTE;
        RouteMatch<?> match = RouteAttributes.getRouteMatch(request).orElse(null);
        if (match instanceof UriRouteMatch<?, ?> m) {
            String method = m.getHttpMethod().name();
            String template = m.getRouteInfo().getUriMatchTemplate().toString();
            route = ApiAccess.key(method, template);
            accepted = ApiAccess.scopes(method, template);
        }
        try {
            String token = BearerToken.fromHeader(request.getHeaders().get(BearerToken.HEADER));
            if (accepted == null) {
                Claims c = verifier.verify(token);
                log.error("management API route '{}' has no access rule in ApiAccess; refused {} ({})", route,
                        c.subject(), c.scope().wireName());
                throw new AuthException(AuthException.Reason.WRONG_SCOPE, "no token is accepted for " + route
                        + ": it has no access rule (a bug; see ApiAccess)");
            }
            verifier.authorize(token, accepted);
            return null; // on to the controller
        } catch (AuthException e) {
            return refusal(request, e);
        }
    }

    private static HttpResponse<Dto.Error> refusal(HttpRequest<?> request, AuthException e) {
        boolean unauthenticated = e.reason().unauthenticated();
        if (unauthenticated) {
            log.debug("{} {} from {}: 401 {}", request.getMethod(), request.getPath(), request.getRemoteAddress(),
                    e.getMessage());
        } else {
            log.info("{} {} from {}: 403 {}", request.getMethod(), request.getPath(), request.getRemoteAddress(),
                    e.getMessage());
        }
        var response = HttpResponse.<Dto.Error>status(unauthenticated ? HttpStatus.UNAUTHORIZED : HttpStatus.FORBIDDEN)
                .contentType(MediaType.APPLICATION_JSON_TYPE)
                .body(new Dto.Error(e.reason().name().toLowerCase(java.util.Locale.ROOT), e.getMessage()));
        if (unauthenticated) {
            response.header("WWW-Authenticate", "Bearer");
        }
        return response;
    }
}
