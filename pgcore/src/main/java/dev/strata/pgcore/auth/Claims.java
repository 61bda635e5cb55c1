package dev.strata.pgcore.auth;

import dev.strata.pgcore.id.TimelineId;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * What a verified token says.
 *
 * @param scope     what it allows
 * @param subject   who holds it (a component name such as {@code safekeeper-1}), for logs
 * @param timeline  for {@link Scope#COMPUTE} tokens, the one timeline it may read; empty otherwise
 * @param expiresAt when it stops being accepted; empty for a token without expiry
 */
public record Claims(Scope scope, String subject, Optional<TimelineId> timeline, Optional<Instant> expiresAt) {

    public Claims {
        Objects.requireNonNull(scope, "scope");
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(timeline, "timeline");
        Objects.requireNonNull(expiresAt, "expiresAt");
        if (scope == Scope.COMPUTE && timeline.isEmpty()) {
            throw new IllegalArgumentException("a compute token names its timeline");
        }
        if (scope != Scope.COMPUTE && timeline.isPresent()) {
            throw new IllegalArgumentException("only a compute token names a timeline");
        }
    }

    /** A token for a component or the operator, valid until {@code expiresAt} (empty: no expiry). */
    public static Claims service(Scope scope, String subject, Optional<Instant> expiresAt) {
        return new Claims(scope, subject, Optional.empty(), expiresAt);
    }

    /** A token for the compute of one timeline. */
    public static Claims compute(TimelineId timeline, String subject, Optional<Instant> expiresAt) {
        return new Claims(Scope.COMPUTE, subject, Optional.of(timeline), expiresAt);
    }
}
