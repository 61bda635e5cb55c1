package dev.strata.infra.control;

import java.nio.file.Path;
import java.util.Map;
import software.amazon.awscdk.CustomResource;
import software.amazon.awscdk.Duration;
import software.amazon.awscdk.services.lambda.Function;
import software.amazon.awscdk.services.secretsmanager.Secret;
import software.constructs.Construct;

/**
 * Issues the service keys at deploy time (decision 0035): a custom resource backed by
 * {@code dev.strata.control.keys.IssueKeysHandler} (functions), which replaces the placeholders of
 * the signing-key, public-key and safekeeper-token secrets with a real Ed25519 key, its JWK Set and
 * a {@code safekeeperdata} token, and keeps them on every later deploy. The services that read
 * those secrets at start depend on it, so none starts with a placeholder. The function runs outside
 * the VPC: it calls only Secrets Manager and CloudFormation's response URL.
 */
public final class ServiceKeysResource extends Construct {

    public static final String RESOURCE_TYPE = "Custom::StrataServiceKeys";
    public static final String HANDLER = "dev.strata.control.keys.IssueKeysHandler::handleRequest";

    private final Function function;
    private final CustomResource resource;

    public ServiceKeysResource(Construct scope, String id, Path lambdaBundle, ControlPlaneData data, String envName) {
        super(scope, id);
        function = ControlPlaneFunctions.javaFunction(this, lambdaBundle, envName, "service-keys", HANDLER,
                        "Strata: issues the service keys into their secrets at deploy (custom resource)")
                .timeout(Duration.minutes(2))
                .build();
        for (Secret s : new Secret[] {data.jwtSigningKey(), data.jwtPublicKeys(), data.safekeeperToken()}) {
            s.grantRead(function);
            s.grantWrite(function);
        }
        resource = CustomResource.Builder.create(this, "Resource")
                .serviceToken(function.getFunctionArn())
                .resourceType(RESOURCE_TYPE)
                .properties(Map.of(
                        "SigningKeySecret", data.jwtSigningKey().getSecretArn(),
                        "PublicKeysSecret", data.jwtPublicKeys().getSecretArn(),
                        "SafekeeperTokenSecret", data.safekeeperToken().getSecretArn()))
                .build();
    }

    public Function function() {
        return function;
    }

    /** What a service that reads the keys at start depends on. */
    public CustomResource resource() {
        return resource;
    }
}
