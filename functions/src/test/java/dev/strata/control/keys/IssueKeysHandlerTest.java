package dev.strata.control.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.sun.net.httpserver.HttpServer;
import dev.strata.control.testing.MotoServer;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;

/**
 * The custom resource's protocol: CloudFormation's request in, the answer PUT to the response URL
 * (here a server on loopback standing in for the pre-signed S3 URL), for a create, an update, a
 * delete and a request that cannot succeed; secrets in moto's Secrets Manager.
 */
class IssueKeysHandlerTest {

    @TempDir
    static Path dir;
    private static MotoServer moto;
    private static SecretsManagerClient sm;
    private static HttpServer responses;
    private static final BlockingQueue<String> answers = new LinkedBlockingQueue<>();
    private static final BlockingQueue<String> contentTypes = new LinkedBlockingQueue<>();
    private static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void start() throws Exception {
        moto = MotoServer.startOrSkip(dir, "key issuance");
        sm = moto.client(SecretsManagerClient.builder(), Region.US_EAST_1);
        responses = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        responses.createContext("/", x -> {
            answers.add(x.getRequestMethod() + " " + new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            contentTypes.add(String.valueOf(x.getRequestHeaders().getFirst("Content-Type")));
            x.sendResponseHeaders(200, -1);
            x.close();
        });
        responses.start();
    }

    @AfterAll
    static void stop() {
        if (responses != null) {
            responses.stop(0);
        }
        if (sm != null) {
            sm.close();
        }
        if (moto != null) {
            moto.close();
        }
    }

    private static Map<String, Object> event(String type, Map<String, Object> properties) {
        Map<String, Object> e = new HashMap<>();
        e.put("RequestType", type);
        e.put("ResponseURL", "http://127.0.0.1:" + responses.getAddress().getPort() + "/cfn-response?X-Amz-Signature=abc");
        e.put("StackId", "arn:aws:cloudformation:us-east-1:123456789012:stack/Strata-test/guid");
        e.put("RequestId", "req-" + type);
        e.put("LogicalResourceId", "ServiceKeys");
        e.put("ResourceType", "Custom::StrataServiceKeys");
        e.put("ResourceProperties", properties);
        if (!type.equals("Create")) {
            e.put("PhysicalResourceId", IssueKeysHandler.PHYSICAL_ID);
        }
        return e;
    }

    private static Map<String, Object> properties(ServiceKeys.Secrets arns) {
        return Map.of("ServiceToken", "arn:aws:lambda:us-east-1:123456789012:function:strata-test-service-keys",
                IssueKeysHandler.SIGNING_KEY, arns.signingKey(), IssueKeysHandler.PUBLIC_KEYS, arns.publicKeys(),
                IssueKeysHandler.SAFEKEEPER_TOKEN, arns.safekeeperToken());
    }

    private static JsonNode answer() throws Exception {
        String a = answers.poll(30, TimeUnit.SECONDS);
        assertThat(a).as("CloudFormation was answered").isNotNull().startsWith("PUT ");
        assertThat(contentTypes.poll(1, TimeUnit.SECONDS)).as("the pre-signed URL is signed without a content type")
                .isEqualTo("null");
        return JSON.readTree(a.substring(4));
    }

    @Test
    void createIssuesTheKeysAndUpdateKeepsThem() throws Exception {
        ServiceKeys.Secrets arns = ServiceKeysTest.placeholders(sm);
        IssueKeysHandler handler = new IssueKeysHandler(sm, HttpClient.newHttpClient());
        handler.handleRequest(event("Create", properties(arns)), null);
        JsonNode created = answer();
        assertThat(created.path("Status").asText()).isEqualTo("SUCCESS");
        assertThat(created.path("PhysicalResourceId").asText()).isEqualTo(IssueKeysHandler.PHYSICAL_ID);
        assertThat(created.path("RequestId").asText()).isEqualTo("req-Create");
        assertThat(created.path("LogicalResourceId").asText()).isEqualTo("ServiceKeys");
        String keyId = created.path("Data").path("KeyId").asText();
        OctetKeyPair key = OctetKeyPair.parse(sm.getSecretValue(b -> b.secretId(arns.signingKey())).secretString());
        assertThat(key.getKeyID()).isEqualTo(keyId);
        assertThat(created.toString()).as("no secret in the answer").doesNotContain(key.getD().toString());

        handler.handleRequest(event("Update", properties(arns)), null);
        JsonNode updated = answer();
        assertThat(updated.path("Status").asText()).isEqualTo("SUCCESS");
        assertThat(updated.path("Data").path("KeyId").asText()).as("an update keeps the key").isEqualTo(keyId);
        assertThat(updated.path("Reason").asText()).contains("kept");

        handler.handleRequest(event("Delete", properties(arns)), null);
        JsonNode deleted = answer();
        assertThat(deleted.path("Status").asText()).isEqualTo("SUCCESS");
        assertThat(sm.getSecretValue(b -> b.secretId(arns.signingKey())).secretString())
                .as("delete leaves the key to the stack").isEqualTo(key.toJSONString());
    }

    @Test
    void aRequestThatCannotSucceedIsAnsweredFailedWithItsReason() throws Exception {
        IssueKeysHandler handler = new IssueKeysHandler(sm, HttpClient.newHttpClient());
        handler.handleRequest(event("Create", Map.of(IssueKeysHandler.SIGNING_KEY, "arn:x")), null);
        JsonNode missing = answer();
        assertThat(missing.path("Status").asText()).isEqualTo("FAILED");
        assertThat(missing.path("Reason").asText()).contains(IssueKeysHandler.PUBLIC_KEYS);

        handler.handleRequest(event("Create", properties(new ServiceKeys.Secrets(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:strata/none-AbCdEf", "b", "c"))), null);
        JsonNode absent = answer();
        assertThat(absent.path("Status").asText()).isEqualTo("FAILED");
        assertThat(absent.path("Reason").asText()).isNotBlank();

        handler.handleRequest(event("Rename", Map.of()), null);
        assertThat(answer().path("Reason").asText()).contains("unknown RequestType");
    }

    @Test
    void anEventWithoutAResponseUrlIsRefused() {
        IssueKeysHandler handler = new IssueKeysHandler(sm, HttpClient.newHttpClient());
        assertThatThrownBy(() -> handler.handleRequest(Map.of("RequestType", "Create"), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ResponseURL");
    }
}
