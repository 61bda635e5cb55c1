package dev.strata.control.aws;

import dev.strata.control.TransientStepException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;
import software.amazon.awssdk.services.secretsmanager.model.GetSecretValueRequest;
import software.amazon.awssdk.services.secretsmanager.model.SecretsManagerException;

/**
 * Secret strings from Secrets Manager by ARN, each kept for {@link #TTL} so a warm function does
 * not read them on every call and a rotated secret is picked up within that time. Read on first
 * use, never during SnapStart's init: a snapshot holds no secret.
 */
public final class AwsSecrets implements AutoCloseable {

    /** The environment variable with a Secrets Manager-compatible endpoint to use instead of AWS (tests). */
    public static final String ENDPOINT_ENV = "STRATA_SECRETSMANAGER_ENDPOINT";
    static final Duration TTL = Duration.ofMinutes(5);

    private record Cached(String value, Instant readAt) {
    }

    private final SecretsManagerClient client;
    private final Clock clock;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();

    public AwsSecrets(SecretsManagerClient client, Clock clock) {
        this.client = Objects.requireNonNull(client, "client is null");
        this.clock = Objects.requireNonNull(clock, "clock is null");
    }

    /** Secrets of {@code AWS_REGION}, or of {@value #ENDPOINT_ENV} if set. */
    public static AwsSecrets fromEnvironment(Map<String, String> env) {
        return new AwsSecrets(client(env), Clock.systemUTC());
    }

    /** A Secrets Manager client of {@code AWS_REGION}, or of {@value #ENDPOINT_ENV} if set. */
    public static SecretsManagerClient client(Map<String, String> env) {
        return AwsClients.build(SecretsManagerClient.builder(), env, ENDPOINT_ENV);
    }

    /**
     * The secret's current string. A secret that cannot be read is an {@link IllegalStateException}
     * naming it (and the environment variable that named it), not a retry: a missing grant or ARN
     * does not pass by itself.
     */
    public String get(String arn, String namedBy) {
        Instant now = clock.instant();
        Cached c = cache.get(arn);
        if (c != null && now.isBefore(c.readAt().plus(TTL))) {
            return c.value();
        }
        String value;
        try {
            value = client.getSecretValue(GetSecretValueRequest.builder().secretId(arn).build()).secretString();
        } catch (SecretsManagerException e) {
            throw new IllegalStateException("cannot read secret " + arn + " (" + namedBy + "): "
                    + (e.awsErrorDetails() == null ? e.getMessage() : e.awsErrorDetails().errorMessage()), e);
        } catch (SdkClientException e) {
            throw new TransientStepException("Secrets Manager did not answer for " + arn + ": " + e.getMessage(), e);
        }
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("secret " + arn + " (" + namedBy + ") holds no string");
        }
        cache.put(arn, new Cached(value, now));
        return value;
    }

    @Override
    public void close() {
        client.close();
    }
}
