package dev.strata.compute.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ComputeNetworkTest {

    @Test
    void loopbackAdmitsOnlyLoopbackWithPasswords() {
        String hba = ComputeNetwork.LOOPBACK.hbaConf();
        assertThat(hba).contains("host    all          all   127.0.0.1/32   scram-sha-256")
                .contains("host    replication  all   127.0.0.1/32   scram-sha-256");
        assertThat(hba.lines().filter(l -> !l.startsWith("#")).filter(l -> !l.isBlank()))
                .hasSize(2).allMatch(l -> l.startsWith("host ") && l.endsWith(" scram-sha-256"));
        assertThat(ComputeNetwork.LOOPBACK.listenAddresses()).isEqualTo("127.0.0.1");
    }

    @Test
    void aVpcComputeAdmitsItsClientNetworkForQueriesAndReplicationAndKeepsLoopback() {
        ComputeNetwork vpc = new ComputeNetwork("0.0.0.0", "10.40.3.17", "10.40.0.0/16");
        assertThat(vpc.hbaConf()).contains("host    all          all   10.40.0.0/16   scram-sha-256")
                .contains("host    replication  all   10.40.0.0/16   scram-sha-256")
                .contains("127.0.0.1/32");
        assertThat(vpc.listenAddresses()).isEqualTo("0.0.0.0");
        assertThat(new ComputeNetwork("10.40.3.17", "10.40.3.17", null).listenAddresses())
                .as("the agent's own connections come from loopback").isEqualTo("127.0.0.1,10.40.3.17");
    }

    @Test
    void badAddressesAreRefusedWithTheValueNamed() {
        assertThatThrownBy(() -> new ComputeNetwork("0.0.0.0", "h", "10.40.0.0")).hasMessageContaining("'10.40.0.0'");
        assertThatThrownBy(() -> new ComputeNetwork("0.0.0.0", "h", "10.40.0.0/33")).hasMessageContaining("IPv4 CIDR");
        assertThatThrownBy(() -> new ComputeNetwork("0.0.0.0", "h", "300.1.1.1/8")).hasMessageContaining("not an IP");
        assertThatThrownBy(() -> new ComputeNetwork("0.0.0.0", "h", "10.0.0.0/8 trust")).hasMessageContaining("IPv4 CIDR");
        assertThatThrownBy(() -> new ComputeNetwork("example.com", "h", null)).hasMessageContaining("not an IP address");
        assertThatThrownBy(() -> new ComputeNetwork("0.0.0.0", "bad host", null)).hasMessageContaining("advertised host");
    }
}
