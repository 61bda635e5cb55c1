package dev.strata.infra.nag;

import dev.strata.infra.StrataStack;
import io.github.cdklabs.cdknag.NagPackSuppression;
import io.github.cdklabs.cdknag.NagSuppressions;
import io.github.cdklabs.cdknag.RegexAppliesTo;
import java.util.List;

/**
 * Every cdk-nag (AwsSolutions) finding this app accepts, each with its reason, as narrow as the
 * finding allows: on the construct it concerns, and for IAM wildcards only the wildcard patterns
 * named here. Anything else cdk-nag reports fails {@code NagTest}.
 */
public final class NagRules {

    private NagRules() {
    }

    public static void suppress(StrataStack stack) {
        // The one public entry point (also acknowledged to CDK's own CloudFormation validation).
        software.amazon.awscdk.Validations.of(stack.network().nlb()).acknowledge(
                software.amazon.awscdk.Acknowledgment.builder().id("CloudFormation-Validate::W2508")
                        .reason("PostgreSQL port 5432 open to the internet on the NLB's group only: the product's"
                                + " public entry, with TLS at the proxy and SCRAM at the compute.").build());
        NagSuppressions.addResourceSuppressions(stack.network().nlb(), List.of(rule("AwsSolutions-EC23",
                "The proxy's NLB is the product's public entry: PostgreSQL clients connect from anywhere on the proxy"
                        + " port (5432) only, with TLS and SCRAM; every other group admits only named groups.")), true);
        NagSuppressions.addResourceSuppressions(stack.proxy().nlb(), List.of(rule("AwsSolutions-ELB2",
                "NLB access logs exist only for TLS listeners; this listener is TCP pass-through (PostgreSQL"
                        + " negotiates TLS after an SSLRequest in clear, and the proxy routes on the SNI it then sees)."
                        + " VPC flow logs record the connections.")), true);

        // Lambda functions: the control plane's steps and the key issuer.
        List<NagPackSuppression> lambdas = List.of(
                rule("AwsSolutions-L1", "The handlers are built and tested for Java 21 (the project's release);"
                        + " a newer Java runtime follows when the build moves."),
                ruleFor("AwsSolutions-IAM4", "AWS's minimal managed policies for a function's own log stream and its"
                                + " VPC network interfaces; they grant nothing on Strata's data.",
                        "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                        "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"));
        NagSuppressions.addResourceSuppressions(stack.functions(), lambdas, true);
        NagSuppressions.addResourceSuppressions(stack.serviceKeys(), lambdas, true);
        NagSuppressions.addResourceSuppressions(stack.poolReaper(), lambdas, true);

        // Stack-wide, kept once in the stack's metadata (per-resource copies would add ~2 KB to each of
        // ~300 resources and push the template towards CloudFormation's 1 MB limit).
        NagSuppressions.addStackSuppressions(stack, List.of(
                rule("AwsSolutions-ECS2", "Container environment variables carry only names (table, bucket, domain,"
                        + " state machine ARNs); every secret reaches the task through ECS secrets from Secrets Manager."),
                rule("AwsSolutions-SMG4", "Rotating the JWT key or the service passwords needs the services to reload"
                        + " them (not built yet); rotation is a documented manual step in docs/aws.md."),
                ruleRegex("AwsSolutions-IAM5", "DynamoDB grants include the table's indexes (the gsi1 queries of"
                        + " docs/control-plane.md); the index ARN wildcard names indexes of this table only.",
                        "/^Resource::<DataMetadata[A-Z0-9]+\\.Arn>\\/index\\/\\*$/"),
                ruleRegex("AwsSolutions-IAM5", "Object grants are confined to the component's own prefix of the"
                        + " history bucket (safekeeper/*, pageserver/*, decision 0016).",
                        "/^Resource::<DataHistory[A-Z0-9]+\\.Arn>\\/(safekeeper|pageserver)\\/\\*$/"),
                ruleRegex("AwsSolutions-IAM5", "CDK's S3 grant action groups (s3:GetObject*, s3:List*, ...) on the"
                        + " component's prefix: read, write and delete of its own objects, nothing on other buckets.",
                        "/^Action::s3:(GetObject|GetBucket|List|DeleteObject|Abort)\\*$/"),
                ruleRegex("AwsSolutions-IAM5", "ECS task ids are generated: retiring a compute agent describes and"
                        + " stops tasks of the environment's own cluster only (the ARN names it, and an ecs:cluster"
                        + " condition pins it).",
                        "/^Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task\\/strata-[a-z0-9-]+\\/\\*$/"),
                ruleRegex("AwsSolutions-IAM5", "ClaimAgent starts on-demand compute tasks of the pool's task"
                        + " definition family, whichever revision the last deploy made active (RunTask names the"
                        + " family), in the environment's cluster only (ecs:cluster condition).",
                        "/^Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task-definition\\/strata-[a-z0-9-]+-compute:\\*$/"),
                ruleRegex("AwsSolutions-IAM5", "Actions without resource-level permissions: X-Ray trace upload and"
                        + " CloudWatch Logs delivery for Step Functions, ECR's GetAuthorizationToken for image pulls,"
                        + " and ECS ListTasks (its ecs:cluster condition pins the environment's cluster).",
                        "/^Resource::\\*$/")));
    }

    private static NagPackSuppression rule(String id, String reason) {
        return NagPackSuppression.builder().id(id).reason(reason).build();
    }

    private static NagPackSuppression ruleFor(String id, String reason, String... appliesTo) {
        return NagPackSuppression.builder().id(id).reason(reason).appliesTo(List.of((Object[]) appliesTo)).build();
    }

    private static NagPackSuppression ruleRegex(String id, String reason, String regex) {
        return NagPackSuppression.builder().id(id).reason(reason)
                .appliesTo(List.of(RegexAppliesTo.builder().regex(regex).build())).build();
    }
}
