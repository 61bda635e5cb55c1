package dev.strata.cli.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Branch records in cluster.properties: names, endpoints, and one durable write per change. */
class LocalBranchesTest {

    @TempDir
    Path tmp;

    @Test
    void branchesSurviveAReloadAndTheirParentsAndPointsWithThem() {
        Path file = tmp.resolve("cluster.properties");
        TimelineId root = TimelineId.random();
        TimelineId child = TimelineId.random();
        LocalBranches b = new LocalBranches(ClusterState.loadOrCreate(file));
        b.apply(List.of(new LocalBranch("main", root, Optional.empty(), Optional.empty(), EndpointId.of("main"),
                Instant.parse("2026-12-06T10:00:00Z")), new LocalBranch("dev", child, Optional.of("main"),
                Optional.of(Lsn.parse("0/3000028")), EndpointId.of("dev"), Instant.parse("2026-12-06T10:01:00Z"))),
                List.of());

        LocalBranches again = new LocalBranches(ClusterState.loadOrCreate(file));
        assertThat(again.all()).containsOnlyKeys("main", "dev");
        LocalBranch dev = again.get("dev").orElseThrow();
        assertThat(dev.timeline()).isEqualTo(child);
        assertThat(dev.parent()).contains("main");
        assertThat(dev.branchLsn()).contains(Lsn.parse("0/3000028"));
        assertThat(again.children("main")).containsExactly("dev");
        // main's timeline is also under the key the first versions read
        assertThat(ClusterState.loadOrCreate(file).require("timeline")).isEqualTo(root.toString());

        again.apply(List.of(), List.of("dev"));
        assertThat(new LocalBranches(ClusterState.loadOrCreate(file)).all()).containsOnlyKeys("main");
    }

    @Test
    void aClusterFromBeforeBranchesReadsAsItsMainBranch() {
        Path file = tmp.resolve("cluster.properties");
        TimelineId t = TimelineId.random();
        ClusterState old = ClusterState.loadOrCreate(file);
        old.put("timeline", t.toString());
        old.put("branch.main", t.toString());
        old.save();
        LocalBranch main = new LocalBranches(ClusterState.loadOrCreate(file)).get("main").orElseThrow();
        assertThat(main.timeline()).isEqualTo(t);
        assertThat(main.isRoot()).isTrue();
        assertThat(main.endpoint()).isEqualTo(EndpointId.of("main"));
    }

    @Test
    void namesFollowOneRuleAndEndpointsAreDnsLabels() {
        assertThat(LocalBranch.checkName("main_old_2026-12-06T04:31:07Z")).isNotNull();
        assertThat(LocalBranch.endpointFor("main_old_2026-12-06T04:31:07Z"))
                .isEqualTo(EndpointId.of("main-old-2026-12-06t04-31-07z"));
        assertThat(LocalBranch.endpointFor("Feature_X")).isEqualTo(EndpointId.of("feature-x"));
        for (String bad : new String[] {"", "a.b", "-x", "x y", "a/b", "x".repeat(64)}) {
            assertThatThrownBy(() -> LocalBranch.checkName(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("cannot name a branch");
        }
    }
}
