package dev.strata.infra;

import io.github.cdklabs.cdknag.AwsSolutionsChecks;
import io.github.cdklabs.cdknag.NagPackProps;
import java.nio.file.Path;
import java.util.Optional;
import software.amazon.awscdk.App;
import software.amazon.awscdk.Aspects;
import software.amazon.awscdk.Environment;
import software.amazon.awscdk.StackProps;

/**
 * The CDK app ({@code cdk.json} runs it): one {@link StrataStack} named {@code Strata-<env>}, its
 * parameters from CDK context ({@code cdk deploy -c env=prod -c domainName=db.example.com ...},
 * docs/aws.md "Parameters"), with cdk-nag's AwsSolutions checks applied.
 */
public final class StrataApp {

    private StrataApp() {
    }

    public static void main(String[] args) {
        App app = new App();
        build(app, propsFromContext(app));
        app.synth();
    }

    /** Adds the environment's stack and the nag checks to {@code app}. */
    public static StrataStack build(App app, StrataStackProps props) {
        StackProps.Builder sp = StackProps.builder()
                // The template nears CloudFormation's 1 MB limit with indentation (six ASL definitions, 32 functions).
                .suppressTemplateIndentation(true)
                .description("Strata serverless PostgreSQL, environment " + props.envName() + " (infra-cdk)");
        String account = System.getenv("CDK_DEFAULT_ACCOUNT");
        String region = System.getenv("CDK_DEFAULT_REGION");
        if (account != null && region != null) {
            sp.env(Environment.builder().account(account).region(region).build());
        }
        StrataStack stack = new StrataStack(app, "Strata-" + props.envName(), sp.build(), props);
        Aspects.of(app).add(new AwsSolutionsChecks(NagPackProps.builder().verbose(true).build()));
        return stack;
    }

    static StrataStackProps propsFromContext(App app) {
        return new StrataStackProps(
                required(app, "env"),
                Integer.parseInt(optional(app, "azCount").orElse("3")),
                Integer.parseInt(optional(app, "computePoolSize").orElse("2")),
                Integer.parseInt(optional(app, "computeBurstMax").orElse("10")),
                required(app, "certificateSecretArn"),
                required(app, "domainName"),
                optional(app, "hostedZoneId"),
                Path.of(optional(app, "repoRoot").orElse("..")),
                Path.of(optional(app, "lambdaBundle").orElse("target/lambda")));
    }

    private static String required(App app, String key) {
        return optional(app, key).orElseThrow(() -> new IllegalArgumentException(
                "missing parameter '" + key + "': pass -c " + key + "=... to cdk (docs/aws.md, Parameters)"));
    }

    private static Optional<String> optional(App app, String key) {
        Object v = app.getNode().tryGetContext(key);
        return v == null || v.toString().isBlank() ? Optional.empty() : Optional.of(v.toString());
    }
}
