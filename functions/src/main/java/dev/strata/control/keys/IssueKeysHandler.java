package dev.strata.control.keys;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import dev.strata.control.aws.AwsSecrets;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;

/**
 * The stack's {@code ServiceKeys} custom resource (infra-cdk {@code ServiceKeysResource}): on Create
 * and Update it makes the signing-key, public-key and safekeeper-token secrets consistent
 * ({@link ServiceKeys}), so a fresh {@code cdk deploy} has real keys before any service starts; on
 * Delete it does nothing (the secrets go with the stack). Properties: {@value #SIGNING_KEY},
 * {@value #PUBLIC_KEYS}, {@value #SAFEKEEPER_TOKEN} (secret ARNs). It answers CloudFormation in
 * every case, a failure with its reason, so a deploy never hangs on it.
 */
public final class IssueKeysHandler implements RequestHandler<Map<String, Object>, Map<String, Object>> {

    private static final Logger log = LoggerFactory.getLogger(IssueKeysHandler.class);
    static final String SIGNING_KEY = "SigningKeySecret";
    static final String PUBLIC_KEYS = "PublicKeysSecret";
    static final String SAFEKEEPER_TOKEN = "SafekeeperTokenSecret";
    /** One resource per stack: the same id on every update, so CloudFormation never replaces it. */
    static final String PHYSICAL_ID = "strata-service-keys";

    private final SecretsManagerClient secrets;
    private final HttpClient http;

    /** Lambda's constructor: Secrets Manager of {@code AWS_REGION}. */
    public IssueKeysHandler() {
        this(AwsSecrets.client(System.getenv()), HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build());
    }

    IssueKeysHandler(SecretsManagerClient secrets, HttpClient http) {
        this.secrets = Objects.requireNonNull(secrets, "secrets is null");
        this.http = Objects.requireNonNull(http, "http is null");
    }

    @Override
    public Map<String, Object> handleRequest(Map<String, Object> input, Context context) {
        CustomResourceEvent e = CustomResourceEvent.of(input);
        String body;
        try {
            body = switch (e.requestType()) {
                case "Create", "Update" -> {
                    ServiceKeys.Issued issued = new ServiceKeys(secrets).ensure(new ServiceKeys.Secrets(
                            e.property(SIGNING_KEY), e.property(PUBLIC_KEYS), e.property(SAFEKEEPER_TOKEN)));
                    yield CustomResourceResponse.body(e, true, "signing key " + issued.keyId()
                            + (issued.keyWritten() ? " issued" : " kept"), PHYSICAL_ID, Map.of("KeyId", issued.keyId()));
                }
                case "Delete" -> CustomResourceResponse.body(e, true, "nothing to undo: the secrets go with the stack",
                        physicalId(e), Map.of());
                default -> CustomResourceResponse.body(e, false, "unknown RequestType '" + e.requestType() + "'",
                        physicalId(e), Map.of());
            };
        } catch (RuntimeException failure) {
            log.error("service keys: {} failed", e.requestType(), failure);
            body = CustomResourceResponse.body(e, false, failure.getClass().getSimpleName() + ": " + failure.getMessage(),
                    physicalId(e), Map.of());
        }
        try {
            CustomResourceResponse.send(http, e, body);
        } catch (IOException failure) {
            throw new UncheckedIOException("could not answer CloudFormation for " + e.logicalResourceId(), failure);
        } catch (InterruptedException failure) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted answering CloudFormation", failure);
        }
        return Map.of("answered", e.requestType());
    }

    private static String physicalId(CustomResourceEvent e) {
        return e.physicalResourceId().isEmpty() ? PHYSICAL_ID : e.physicalResourceId();
    }
}
