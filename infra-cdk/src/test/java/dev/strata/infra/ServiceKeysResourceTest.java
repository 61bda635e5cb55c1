package dev.strata.infra;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.infra.control.ServiceKeysResource;
import dev.strata.infra.testing.Synthesized;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awscdk.assertions.Match;
import software.amazon.awscdk.assertions.Template;

/** The deploy's key issuance (ServiceKeysResource, decision 0035). */
class ServiceKeysResourceTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final Template t = Synthesized.get().template;

    @Test
    void theCustomResourceNamesTheThreeKeySecrets() {
        Map<String, Map<String, Object>> keys = t.findResources(ServiceKeysResource.RESOURCE_TYPE);
        assertThat(keys).hasSize(1);
        String props = JSON.valueToTree(keys.values().iterator().next().get("Properties")).toString();
        assertThat(props).contains("SigningKeySecret").contains("DataJwtSigningKey")
                .contains("PublicKeysSecret").contains("DataJwtPublicKeys")
                .contains("SafekeeperTokenSecret").contains("DataSafekeeperToken")
                .contains("ServiceToken").contains("ServiceKeysFunction");
    }

    @Test
    void itsFunctionIsTheJavaHandlerOutsideTheVpc() {
        Map<String, Map<String, Object>> fns = t.findResources("AWS::Lambda::Function", Match.objectLike(Map.of(
                "Properties", Match.objectLike(Map.of("Handler", ServiceKeysResource.HANDLER, "Runtime", "java21",
                        "FunctionName", "strata-test-service-keys")))));
        assertThat(fns).hasSize(1);
        assertThat(JSON.valueToTree(fns).toString()).as("it calls only Secrets Manager and the response URL")
                .doesNotContain("VpcConfig");
    }

    @Test
    void itMayWriteTheKeySecretsAndNoOtherSecret() {
        Map<String, Map<String, Object>> policies = t.findResources("AWS::IAM::Policy", Match.objectLike(Map.of(
                "Properties", Match.objectLike(Map.of("PolicyDocument", Match.objectLike(Map.of("Statement",
                        Match.arrayWith(List.of(Match.objectLike(Map.of("Action", Match.arrayWith(
                                List.of("secretsmanager:PutSecretValue")))))))))))));
        assertThat(policies).as("only the key issuer writes secrets").hasSize(1);
        String policy = JSON.valueToTree(policies).toString();
        assertThat(policy).contains("DataJwtSigningKey").contains("DataJwtPublicKeys").contains("DataSafekeeperToken")
                .doesNotContain("DataReplicationPassword").doesNotContain("DataComputeAdminPassword");
    }

    @Test
    void everyServiceThatReadsTheKeysStartsAfterThem() {
        Map<String, Map<String, Object>> keys = t.findResources(ServiceKeysResource.RESOURCE_TYPE);
        String keysId = keys.keySet().iterator().next();
        Map<String, Map<String, Object>> services = t.findResources("AWS::ECS::Service");
        assertThat(services).as("3 safekeepers, pageserver, compute pool, proxy").hasSize(6);
        services.forEach((id, s) -> assertThat(JSON.valueToTree(s.get("DependsOn")).toString())
                .as(id + " depends on the issued keys").contains(keysId));
    }
}
