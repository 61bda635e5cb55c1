package dev.strata.cli.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** `strata branch list`: each branch under the one it was made from. */
class BranchAdminTest {

    private static LocalCluster.BranchInfo info(String name, String parent, String lsn) {
        return new LocalCluster.BranchInfo(new LocalBranch(name, TimelineId.random(), Optional.ofNullable(parent),
                Optional.ofNullable(lsn).map(Lsn::parse), LocalBranch.endpointFor(name), Instant.EPOCH),
                Lsn.parse("0/5000000"), 1_500_000, 48_000_000, "stopped");
    }

    @Test
    void theTreeShowsChildrenUnderTheirParents() {
        String tree = BranchAdmin.tree(List.of(info("main", null, null), info("dev", "main", "0/3000028"),
                info("dev2", "dev", "0/4000028"), info("qa", "main", "0/3500000")));
        List<String> lines = tree.lines().toList();
        assertThat(lines).hasSize(4);
        assertThat(lines.get(0)).startsWith("main  timeline ").contains("endpoint main");
        assertThat(lines.get(1)).startsWith("├─ dev  from 0/3000028");
        assertThat(lines.get(2)).startsWith("│  └─ dev2  from 0/4000028");
        assertThat(lines.get(3)).startsWith("└─ qa  from 0/3500000").contains("compute stopped")
                .contains("size 48 MB").contains("own layers 1.5 MB")
                .contains("endpoint " + EndpointId.of("qa"));
    }

    @Test
    void theJsonListHasEveryBranchWithNullsForTheRoot() {
        String json = BranchAdmin.json(List.of(info("main", null, null), info("dev", "main", "0/3000028")));
        assertThat(json).contains("\"name\": \"main\"").contains("\"parent\": null, \"branchLsn\": null")
                .contains("\"name\": \"dev\"").contains("\"parent\": \"main\", \"branchLsn\": \"0/3000028\"")
                .startsWith("[").endsWith("]\n");
        assertThat(BranchAdmin.json(List.of())).isEqualTo("[]\n");
        assertThat(json).contains("\"logicalSize\": 48000000, \"layerBytes\": 1500000");
        assertThat(BranchAdmin.bytes(-1)).isEqualTo("?");
        assertThat(BranchAdmin.bytes(999)).isEqualTo("999 B");
        assertThat(BranchAdmin.bytes(1_234_567_890)).isEqualTo("1.2 GB");
        assertThat(BranchAdmin.quote("a\"b\\c\n")).isEqualTo("\"a\\\"b\\\\c\\u000a\"");
    }
}
