package dev.strata.infra;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What differs between two Strata environments (a stack each). Checked when built, so a bad value
 * fails {@code cdk synth} with a message naming the parameter, not a CloudFormation rollback later.
 *
 * @param envName              a short DNS-label name (e.g. {@code prod}); prefixes resource names
 * @param azCount              availability zones the VPC spans; at least 3 (the safekeepers need three)
 * @param computePoolSize      warm compute agents kept running (ECS tasks), 1 to 100
 * @param computeBurstMax      on-demand compute tasks a wake may start when the warm pool has no idle
 *                             agent, at most this many at once, 0 to 100 (0: a wake waits for the pool)
 * @param certificateSecretArn the Secrets Manager secret holding the wildcard certificate for
 *                             {@code *.<domainName>} (JSON keys {@code certificate}, {@code privateKey}, PEM):
 *                             the proxy terminates TLS itself because it routes on SNI (docs/aws.md)
 * @param domainName           the clients' domain: an endpoint is {@code <endpoint id>.<domainName>}
 * @param hostedZoneId         the Route 53 public hosted zone of {@code domainName}; empty: no DNS records
 *                             are made and the wildcard name must point at the NLB by hand
 * @param repoRoot             the repository checkout (Dockerfiles build from it, the ASL files are read from it)
 * @param lambdaBundle         the control plane's Lambda code: a directory with {@code lib/*.jar}
 */
public record StrataStackProps(String envName, int azCount, int computePoolSize, int computeBurstMax,
        String certificateSecretArn,
        String domainName, Optional<String> hostedZoneId, Path repoRoot, Path lambdaBundle) {

    private static final Pattern LABEL = Pattern.compile("[a-z](?:[a-z0-9-]{0,14}[a-z0-9])?");
    private static final Pattern DOMAIN = Pattern.compile("(?=.{4,200}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}");
    private static final Pattern SECRET_ARN =
            Pattern.compile("arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\\d{12}:secret:[A-Za-z0-9/_+=.@-]+");
    private static final Pattern ZONE_ID = Pattern.compile("Z[A-Z0-9]{1,31}");

    public StrataStackProps {
        Objects.requireNonNull(envName, "envName");
        Objects.requireNonNull(certificateSecretArn, "certificateSecretArn");
        Objects.requireNonNull(domainName, "domainName");
        Objects.requireNonNull(hostedZoneId, "hostedZoneId");
        Objects.requireNonNull(repoRoot, "repoRoot");
        Objects.requireNonNull(lambdaBundle, "lambdaBundle");
        if (!LABEL.matcher(envName).matches()) {
            throw new IllegalArgumentException("envName must be 1-16 of a-z 0-9 -, starting with a letter, got '"
                    + shorten(envName) + "'");
        }
        if (azCount < 3 || azCount > 6) {
            throw new IllegalArgumentException("azCount must be 3 to 6 (three safekeepers in three zones), got " + azCount);
        }
        if (computePoolSize < 1 || computePoolSize > 100) {
            throw new IllegalArgumentException("computePoolSize must be 1 to 100 warm computes, got " + computePoolSize);
        }
        if (computeBurstMax < 0 || computeBurstMax > 100) {
            throw new IllegalArgumentException("computeBurstMax must be 0 to 100 on-demand computes, got "
                    + computeBurstMax);
        }
        if (!SECRET_ARN.matcher(certificateSecretArn).matches()) {
            throw new IllegalArgumentException("certificateSecretArn must be a Secrets Manager secret ARN"
                    + " (the proxy terminates TLS itself to route on SNI; an ACM certificate cannot be used there),"
                    + " got '" + shorten(certificateSecretArn) + "'");
        }
        if (!DOMAIN.matcher(domainName).matches()) {
            throw new IllegalArgumentException("domainName must be a lower-case DNS name such as db.example.com, got '"
                    + shorten(domainName) + "'");
        }
        hostedZoneId.ifPresent(z -> {
            if (!ZONE_ID.matcher(z).matches()) {
                throw new IllegalArgumentException("hostedZoneId must be a Route 53 zone id such as Z0123456789ABC, got '"
                        + shorten(z) + "'");
            }
        });
        repoRoot = repoRoot.toAbsolutePath().normalize();
        lambdaBundle = lambdaBundle.toAbsolutePath().normalize();
        if (!Files.isRegularFile(repoRoot.resolve("state-machines/src/main/resources/dev/strata/statemachines/wake.asl.json"))) {
            throw new IllegalArgumentException("repoRoot " + repoRoot + " is not a Strata checkout (no state-machines/ definitions)");
        }
    }

    /** The wildcard host name clients connect to: {@code *.<domainName>}. */
    public String wildcardHost() {
        return "*." + domainName;
    }

    private static String shorten(String s) {
        String printable = s.replaceAll("\\p{Cntrl}", "?");
        return printable.length() > 70 ? printable.substring(0, 70) + "..." : printable;
    }
}
