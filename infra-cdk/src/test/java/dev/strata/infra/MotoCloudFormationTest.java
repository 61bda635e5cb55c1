package dev.strata.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.strata.infra.control.Workflows;
import dev.strata.control.testing.MotoServer;
import dev.strata.infra.testing.Synthesized;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.cloudformation.CloudFormationClient;
import software.amazon.awssdk.services.cloudformation.model.Capability;
import software.amazon.awssdk.services.cloudformation.model.Stack;
import software.amazon.awssdk.services.cloudformation.model.StackResourceSummary;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.KeySchemaElement;
import software.amazon.awssdk.services.dynamodb.model.KeyType;
import software.amazon.awssdk.services.dynamodb.model.TableDescription;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.sfn.SfnClient;

/**
 * Deploys the synthesized template to moto's CloudFormation ({@code moto_server} on loopback) and
 * reads back what it created. moto cannot create every resource of the stack: {@link #STRIPPED}
 * lists, in one place, the types taken out of the template before the deploy and why (docs/aws.md,
 * "Tested against moto's CloudFormation"). A reference to a stripped resource becomes a placeholder
 * ARN naming it, so what refers to it still deploys. Everything else must reach CREATE_COMPLETE; a
 * type added to the stack that moto skips fails {@link #everyResourceLeftInTheTemplateIsCreated()}.
 *
 * <p>Skipped, with the reason, where {@code moto_server} is not on the PATH (it is installed on the
 * project's machines and CI; it cannot be installed from PyPI there).
 */
class MotoCloudFormationTest {

    /** The resource types taken out of the template before deploying it to moto 5.2.1, and why. */
    static final Map<String, String> STRIPPED = strippedTypes();

    private static Map<String, String> strippedTypes() {
        Map<String, String> m = new LinkedHashMap<>();
        String noModel = "moto's CloudFormation has no model for it (it would skip it silently and every reference"
                + " to it would resolve to nothing)";
        m.put("AWS::SecretsManager::Secret", noModel);
        m.put("AWS::CloudWatch::Alarm", noModel);
        m.put("AWS::EC2::SecurityGroupEgress", noModel);
        m.put("AWS::Lambda::Alias", noModel);
        m.put("AWS::S3::BucketPolicy", noModel);
        m.put("AWS::SNS::TopicPolicy", noModel);
        m.put("AWS::ServiceDiscovery::PrivateDnsNamespace", noModel);
        m.put("AWS::ServiceDiscovery::Service", noModel);
        m.put("AWS::EFS::FileSystem", "moto's model has no Fn::GetAtt (the server fails with a 500:"
                + " 'FileSystem' object has no attribute 'get_cfn_attribute')");
        m.put("AWS::EFS::AccessPoint", "needs the EFS file system, stripped");
        m.put("AWS::EFS::MountTarget", "needs the EFS file system, stripped");
        m.put("AWS::ElasticLoadBalancingV2::Listener", "moto accepts HTTP and HTTPS listeners only; the proxy's"
                + " is TCP (\"Listener protocol 'TCP' must be one of 'HTTP, HTTPS'\")");
        m.put("Custom::StrataServiceKeys", "moto runs a custom resource's Lambda in Docker (no engine here) and the"
                + " stack waits for its answer; the handler's side of the protocol is IssueKeysHandlerTest's");
        m.put("AWS::Route53::RecordSet", "the hosted zone is the user's (a parameter), not in the stack:"
                + " NoSuchHostedZone");
        return Map.copyOf(m);
    }

    private static final Region REGION = Region.EU_WEST_1;
    private static final String STACK = "strata-test";
    private static final Duration DEPLOY_TIMEOUT = Duration.ofSeconds(120);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SUB_REFERENCE = Pattern.compile("\\$\\{([A-Za-z0-9]+)(\\.[A-Za-z0-9.]+)?}");

    private static MotoServer moto;
    private static ObjectNode template;
    private static ObjectNode deployed;
    private static Stack stack;
    private static Map<String, StackResourceSummary> resources;

    private static final String NO_MOTO =
            "moto_server is not on the PATH: the template is not deployed to moto's CloudFormation here";

    @BeforeAll
    static void deploy(@TempDir Path dir) throws Exception {
        if (MotoServer.executable().isEmpty()) {
            // Each test is then reported as skipped with this reason (an assumption in @BeforeAll
            // would only make surefire print "Tests run: 0").
            System.err.println("MotoCloudFormationTest: " + NO_MOTO);
            return;
        }
        template = (ObjectNode) JSON.valueToTree(Synthesized.get().template.toJSON());
        deployed = strip(template);
        moto = MotoServer.start(dir.resolve("moto.log"));
        publishLambdaCode(deployed);
        try (CloudFormationClient cf = moto.client(CloudFormationClient.builder(), REGION)) {
            cf.createStack(b -> b.stackName(STACK).templateBody(deployed.toString())
                    .capabilities(Capability.CAPABILITY_IAM, Capability.CAPABILITY_NAMED_IAM));
            long deadline = System.nanoTime() + DEPLOY_TIMEOUT.toNanos();
            do {
                stack = cf.describeStacks(b -> b.stackName(STACK)).stacks().get(0);
                if (!stack.stackStatusAsString().endsWith("_IN_PROGRESS")) {
                    break;
                }
                Thread.sleep(200);
            } while (System.nanoTime() < deadline);
            resources = new TreeMap<>();
            cf.listStackResourcesPaginator(b -> b.stackName(STACK)).stackResourceSummaries()
                    .forEach(r -> resources.put(r.logicalResourceId(), r));
        }
    }

    @BeforeEach
    void needsMoto() {
        assumeTrue(moto != null, NO_MOTO);
    }

    @AfterAll
    static void stop() {
        if (moto != null) {
            moto.close();
        }
    }

    @Test
    void stackReachesCreateComplete() {
        assertThat(stack.stackStatusAsString()).as(stack.stackStatusReason()).isEqualTo("CREATE_COMPLETE");
    }

    @Test
    void everyResourceLeftInTheTemplateIsCreated() {
        Set<String> expected = new TreeSet<>();
        deployed.get("Resources").fieldNames().forEachRemaining(expected::add);
        // A type moto skips silently (no model) would be missing here: add it to STRIPPED with the reason.
        assertThat(resources.keySet()).isEqualTo(expected);
        assertThat(resources.values()).allSatisfy(r ->
                assertThat(r.resourceStatusAsString()).as(r.logicalResourceId()).isEqualTo("CREATE_COMPLETE"));
        assertThat(expected).hasSizeGreaterThan(250);
    }

    @Test
    void everyStrippedTypeIsInTheTemplateAndNothingElseIsStripped() {
        Map<String, Long> before = typeCounts(template);
        Map<String, Long> after = typeCounts(deployed);
        assertThat(before.keySet()).containsAll(STRIPPED.keySet());
        before.forEach((type, n) -> assertThat(after.getOrDefault(type, 0L)).as(type)
                .isEqualTo(STRIPPED.containsKey(type) ? 0L : n));
    }

    @Test
    void metadataTableHasTheStoresKeySchemaIndexAndBilling() {
        try (DynamoDbClient ddb = moto.client(DynamoDbClient.builder(), REGION)) {
            TableDescription t = ddb.describeTable(b -> b.tableName(physicalIdOfOnly("AWS::DynamoDB::Table"))).table();
            assertThat(t.keySchema()).containsExactly(
                    KeySchemaElement.builder().attributeName("pk").keyType(KeyType.HASH).build(),
                    KeySchemaElement.builder().attributeName("sk").keyType(KeyType.RANGE).build());
            assertThat(t.globalSecondaryIndexes()).extracting(g -> g.indexName()).containsExactly("gsi1");
            assertThat(t.billingModeSummary().billingModeAsString()).isEqualTo("PAY_PER_REQUEST");
        }
    }

    @Test
    void historyBucketIsEncryptedAsTheTemplateSays() {
        String logical = logicalIdWhere("AWS::S3::Bucket", p -> p.path("LifecycleConfiguration").toString()
                .contains("deleted-layers"));
        String algorithm = template.at("/Resources/" + logical + "/Properties/BucketEncryption"
                + "/ServerSideEncryptionConfiguration/0/ServerSideEncryptionByDefault/SSEAlgorithm").asText();
        assertThat(algorithm).isNotEmpty();
        try (S3Client s3 = moto.client(S3Client.builder().forcePathStyle(true), REGION)) {
            var rules = s3.getBucketEncryption(b -> b.bucket(resources.get(logical).physicalResourceId()))
                    .serverSideEncryptionConfiguration().rules();
            assertThat(rules).extracting(r -> r.applyServerSideEncryptionByDefault().sseAlgorithmAsString())
                    .containsExactly(algorithm);
        }
    }

    @Test
    void stateMachineDefinitionsAreTheFilesInStateMachines() {
        // moto stores DefinitionString as given (it does not apply DefinitionSubstitutions): the
        // deployed text is the file itself, placeholders included.
        try (SfnClient sfn = moto.client(SfnClient.builder(), REGION)) {
            for (Workflows.Definition d : Workflows.ALL) {
                String logical = logicalIdWhere("AWS::StepFunctions::StateMachine",
                        p -> p.path("StateMachineName").asText().equals("strata-" + Synthesized.ENV + "-" + d.name()));
                var described = sfn.describeStateMachine(b -> b.stateMachineArn(resources.get(logical).physicalResourceId()));
                assertThat(described.name()).isEqualTo("strata-" + Synthesized.ENV + "-" + d.name());
                assertThat(described.definition()).as(d.file())
                        .isEqualTo(Workflows.read(Synthesized.repoRoot(), d.file()));
            }
        }
    }

    /** The template without the {@link #STRIPPED} types, Parameters and Rules; references to stripped resources replaced. */
    static ObjectNode strip(ObjectNode original) {
        ObjectNode t = original.deepCopy();
        // BootstrapVersion is an SSM parameter that `cdk bootstrap` creates, and the rule checks it.
        t.remove("Parameters");
        t.remove("Rules");
        Set<String> gone = new TreeSet<>();
        t.get("Resources").fields().forEachRemaining(e -> {
            if (STRIPPED.containsKey(e.getValue().path("Type").asText())) {
                gone.add(e.getKey());
            }
        });
        ObjectNode kept = JSON.createObjectNode();
        t.get("Resources").fields().forEachRemaining(e -> {
            if (gone.contains(e.getKey())) {
                return;
            }
            ObjectNode r = (ObjectNode) replaceReferences(e.getValue(), gone);
            JsonNode dependsOn = r.get("DependsOn");
            if (dependsOn != null) {
                ArrayNode left = JSON.createArrayNode();
                (dependsOn.isArray() ? dependsOn : JSON.createArrayNode().add(dependsOn)).forEach(d -> {
                    if (!gone.contains(d.asText())) {
                        left.add(d);
                    }
                });
                if (left.isEmpty()) {
                    r.remove("DependsOn");
                } else {
                    r.set("DependsOn", left);
                }
            }
            kept.set(e.getKey(), r);
        });
        t.set("Resources", kept);
        if (t.has("Outputs")) {
            t.set("Outputs", replaceReferences(t.get("Outputs"), gone));
        }
        return t;
    }

    private static JsonNode replaceReferences(JsonNode node, Set<String> gone) {
        if (node.isObject()) {
            if (node.size() == 1 && node.has("Ref") && gone.contains(node.get("Ref").asText())) {
                return TextNode.valueOf(placeholder(node.get("Ref").asText()));
            }
            if (node.size() == 1 && node.has("Fn::GetAtt") && gone.contains(node.get("Fn::GetAtt").path(0).asText())) {
                return TextNode.valueOf(placeholder(node.get("Fn::GetAtt").path(0).asText()));
            }
            ObjectNode copy = JSON.createObjectNode();
            node.fields().forEachRemaining(e -> copy.set(e.getKey(), e.getKey().equals("Fn::Sub")
                    ? replaceInSub(e.getValue(), gone) : replaceReferences(e.getValue(), gone)));
            return copy;
        }
        if (node.isArray()) {
            ArrayNode copy = JSON.createArrayNode();
            node.forEach(n -> copy.add(replaceReferences(n, gone)));
            return copy;
        }
        return node;
    }

    private static JsonNode replaceInSub(JsonNode sub, Set<String> gone) {
        if (sub.isTextual()) {
            return TextNode.valueOf(replaceInSubString(sub.asText(), gone));
        }
        ArrayNode copy = JSON.createArrayNode();
        copy.add(TextNode.valueOf(replaceInSubString(sub.path(0).asText(), gone)));
        for (int i = 1; i < sub.size(); i++) {
            copy.add(replaceReferences(sub.get(i), gone));
        }
        return copy;
    }

    private static String replaceInSubString(String s, Set<String> gone) {
        Matcher m = SUB_REFERENCE.matcher(s);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(gone.contains(m.group(1)) ? placeholder(m.group(1)) : m.group()));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** What a reference to a stripped resource becomes: ARN-shaped, since IAM policies refuse anything else. */
    static String placeholder(String logicalId) {
        return "arn:aws:stripped:" + REGION.id() + ":" + MotoServer.ACCOUNT + ":" + logicalId;
    }

    /**
     * What `cdk deploy` publishes before the stack: the Lambda bundle in the bootstrap assets bucket.
     * moto's Lambda reads the code object at creation (and runs nothing): a placeholder zip will do.
     */
    private static void publishLambdaCode(ObjectNode t) throws IOException {
        Set<String> keys = new TreeSet<>();
        t.get("Resources").forEach(r -> {
            if (r.path("Type").asText().equals("AWS::Lambda::Function")) {
                keys.add(r.at("/Properties/Code/S3Key").asText());
            }
        });
        assertThat(keys).isNotEmpty().doesNotContain("");
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(zip)) {
            z.putNextEntry(new ZipEntry("placeholder.txt"));
            z.write("the Lambda bundle is not uploaded to moto".getBytes());
            z.closeEntry();
        }
        String bucket = "cdk-hnb659fds-assets-" + MotoServer.ACCOUNT + "-" + REGION.id();
        try (S3Client s3 = moto.client(S3Client.builder().forcePathStyle(true), REGION)) {
            s3.createBucket(b -> b.bucket(bucket).createBucketConfiguration(c -> c.locationConstraint(REGION.id())));
            for (String key : keys) {
                s3.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromBytes(zip.toByteArray()));
            }
        }
    }

    private static Map<String, Long> typeCounts(ObjectNode t) {
        List<String> types = new ArrayList<>();
        t.get("Resources").forEach(r -> types.add(r.path("Type").asText()));
        return types.stream().collect(Collectors.groupingBy(x -> x, TreeMap::new, Collectors.counting()));
    }

    private static String physicalIdOfOnly(String type) {
        List<StackResourceSummary> of = resources.values().stream().filter(r -> r.resourceType().equals(type)).toList();
        assertThat(of).as(type).hasSize(1);
        return of.get(0).physicalResourceId();
    }

    private static String logicalIdWhere(String type, java.util.function.Predicate<JsonNode> properties) {
        List<String> ids = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = deployed.get("Resources").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getValue().path("Type").asText().equals(type) && properties.test(e.getValue().path("Properties"))) {
                ids.add(e.getKey());
            }
        }
        assertThat(ids).as(type).hasSize(1);
        return ids.get(0);
    }
}
