package dev.strata.safekeeper.http;

import dev.strata.pgcore.auth.AuthException;
import dev.strata.pgcore.auth.AuthException.Reason;
import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.auth.Claims;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.safekeeper.node.SafekeeperNode;
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
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every request to the management API needs {@code Authorization: Bearer <token>} with a scope
 * that {@link ApiAccess} lists for its route, and a compute token must name the timeline of the
 * path; else it is answered here, before any controller code runs (nothing is read, changed or
 * even parsed): 401 {@link ErrorKind#UNAUTHENTICATED} with {@code WWW-Authenticate: Bearer} for
 * no token or one that does not verify (malformed, forged, expired, {@code alg: none}), 403
 * {@link ErrorKind#FORBIDDEN} for a valid token of another scope or timeline, or a route without
 * a rule. The verified {@link Claims} go to the controller as the request attribute
 * {@link #CLAIMS} (the elected message needs the scope).
 */
@Requires(property = "strata.service", value = "safekeeper")
@ServerFilter(ServerFilter.MATCH_ALL_PATTERN)
final class AuthFilter {

    /** The request attribute holding the caller's verified {@link Claims}. */
    static final String CLAIMS = "strata.auth.claims";

    private static final Logger log = LoggerFactory.getLogger(AuthFilter.class);

    private final TokenVerifier verifier;

    AuthFilter(SafekeeperNode node) {
        this.verifier = node.verifier();
    }

    @RequestFilter
    @Nullable
    HttpResponse<Dto.Error> authorize(HttpRequest<?> request) {
        String route = null;
        Set<Scope> accepted = ApiAccess.NO_ROUTE;
        Object timelineVariable = null;
        RouteMatch<?> match = RouteAttributes.getRouteMatch(request).orElse(null);
        if (match instanceof UriRouteMatch<?, ?> m) {
            String method = m.getHttpMethod().name();
            String template = m.getRouteInfo().getUriMatchTemplate().toString();
            route = ApiAccess.key(method, template);
            accepted = ApiAccess.scopes(method, template);
            timelineVariable = m.getVariableValues().get(ApiAccess.TIMELINE_VARIABLE);
        }
        try {
            String token = BearerToken.fromHeader(request.getHeaders().get(BearerToken.HEADER));
            if (accepted == null) {
                Claims c = verifier.verify(token);
                log.error("management API route '{}' has no access rule in ApiAccess; refused {} ({})", route,
                        c.subject(), c.scope().wireName());
                throw new AuthException(Reason.WRONG_SCOPE, "no token is accepted for " + route
                        + ": it has no access rule (a bug; see ApiAccess)");
            }
            Claims claims = verifier.authorize(token, accepted);
            if (claims.timeline().isPresent()) {
                // A compute token: only for a route about its own timeline.
                Optional<TimelineId> asked = timelineOf(timelineVariable);
                if (asked.isEmpty()) {
                    throw new AuthException(Reason.WRONG_TIMELINE, "a compute token is accepted only for its own"
                            + " timeline " + claims.timeline().get());
                }
                claims = verifier.authorizeTimeline(token, accepted, asked.get());
            }
            request.setAttribute(CLAIMS, claims);
            return null; // on to the controller
        } catch (AuthException e) {
            return refusal(request, e);
        }
    }

    private static Optional<TimelineId> timelineOf(Object variable) {
        if (variable == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(TimelineId.parse(variable.toString()));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static HttpResponse<Dto.Error> refusal(HttpRequest<?> request, AuthException e) {
        boolean unauthenticated = e.reason().unauthenticated();
        ErrorKind kind = unauthenticated ? ErrorKind.UNAUTHENTICATED : ErrorKind.FORBIDDEN;
        if (unauthenticated) {
            log.debug("{} {} from {}: 401 {}", request.getMethod(), request.getPath(), request.getRemoteAddress(),
                    e.getMessage());
        } else {
            log.info("{} {} from {}: 403 {}", request.getMethod(), request.getPath(), request.getRemoteAddress(),
                    e.getMessage());
        }
        var response = HttpResponse.<Dto.Error>status(HttpStatus.valueOf(kind.httpStatus()))
                .contentType(MediaType.APPLICATION_JSON_TYPE)
                .body(new Dto.Error(kind.code(), e.getMessage()));
        if (unauthenticated) {
            response.header("WWW-Authenticate", "Bearer");
        }
        return response;
    }
}
