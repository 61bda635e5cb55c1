package dev.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The pure parts of {@link BranchCommands}: the branch tree of `branch list` and the connection string of `connect`. */
class BranchCommandsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theListIsTheTreeParentsFirstWithParentNamesAndEndpoints() throws Exception {
        JsonNode branches = JSON.readTree("""
                [{"id": "br-b", "name": "b", "state": "READY", "timeline": "t2", "parent": "br-main", "branchLsn": "0/2"},
                 {"id": "br-old", "name": "main_old_x", "state": "READY", "timeline": "t0"},
                 {"id": "br-a", "name": "a", "state": "READY", "timeline": "t1", "parent": "br-main", "branchLsn": "0/1"},
                 {"id": "br-aa", "name": "aa", "state": "CREATING", "timeline": "t3", "parent": "br-a", "branchLsn": "0/3"},
                 {"id": "br-main", "name": "main", "state": "READY", "timeline": "t9", "parent": "br-old", "branchLsn": "0/9"}]
                """);
        JsonNode endpoints = JSON.readTree("""
                [{"id": "main", "branch": "br-main", "state": "RUNNING"}, {"id": "ep-a", "branch": "br-a", "state": "SUSPENDED"}]
                """);
        JsonNode rows = BranchCommands.annotated(branches, endpoints);
        List<String> order = new ArrayList<>();
        rows.forEach(r -> order.add(r.get("name").asText() + "@" + r.get("depth").asInt()));
        assertThat(order).containsExactly("main_old_x@0", "main@1", "a@2", "aa@3", "b@2");
        JsonNode a = rows.get(2);
        assertThat(a.get("parentName").asText()).isEqualTo("main");
        assertThat(a.get("endpoint").asText()).isEqualTo("ep-a");
        assertThat(a.get("endpointState").asText()).isEqualTo("SUSPENDED");
        assertThat(rows.get(0).get("parentName").isNull()).isTrue();
        assertThat(rows.get(4).get("endpoint").isNull()).as("b has no endpoint").isTrue();
        assertThat(rows.get(1).get("timeline").asText()).as("the API's fields are kept").isEqualTo("t9");
    }

    @Test
    void aFailedStepShowsItsMessageNotTheTaskErrorDocument() {
        assertThat(ApiCommands.readableError("dev.strata.control.StepFailedException: {\"errorMessage\":\"branch 'main' "
                + "cannot be restored\",\"errorType\":\"dev.strata.control.StepFailedException\"}"))
                .isEqualTo("branch 'main' cannot be restored");
        assertThat(ApiCommands.readableError("the wake.asl.json workflow could not be started: {oops"))
                .isEqualTo("the wake.asl.json workflow could not be started: {oops");
    }

    @Test
    void connectNamesTheBranchEndpointInUpsConnectionString() {
        String main = "postgresql://postgres:pw%2Fx@127.0.0.1:55432/postgres?options=endpoint%3Dmain";
        assertThat(BranchCommands.forEndpoint(main, "ep-abc234")).contains(
                "postgresql://postgres:pw%2Fx@127.0.0.1:55432/postgres?options=endpoint%3Dep-abc234");
        assertThat(BranchCommands.forEndpoint("postgresql://x@h/db", "ep-1")).isEmpty();
    }
}
