package dev.strata.control.aws;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * On-demand compute tasks beside the warm pool (docs/aws.md, "Compute pool"): what ClaimAgent needs
 * to start one with {@code RunTask} when the pool has no IDLE agent, from the environment the stack
 * sets on that function. Off (empty) unless {@value #TASK_FAMILY} is set and {@value #MAX} is above
 * 0; a set variable that is malformed is an error naming it.
 *
 * @param family         {@value #TASK_FAMILY}: the pool's task definition family (its newest revision runs)
 * @param subnets        {@value #SUBNETS}: the compute subnets, comma-separated
 * @param securityGroups {@value #SECURITY_GROUPS}: the compute security group(s), comma-separated
 * @param max            {@value #MAX}: on-demand tasks that may run at once (1..100)
 * @param idleMinutes    {@value #IDLE_MINUTES}: minutes an on-demand agent stays IDLE before it
 *                       leaves the pool and its task stops (1..1440)
 */
public record BurstSettings(String family, List<String> subnets, List<String> securityGroups, int max,
                            int idleMinutes) {

    public static final String TASK_FAMILY = "STRATA_COMPUTE_TASK_FAMILY";
    public static final String SUBNETS = "STRATA_COMPUTE_SUBNETS";
    public static final String SECURITY_GROUPS = "STRATA_COMPUTE_SECURITY_GROUPS";
    public static final String MAX = "STRATA_COMPUTE_BURST_MAX";
    public static final String IDLE_MINUTES = "STRATA_COMPUTE_BURST_IDLE_MINUTES";

    public BurstSettings {
        subnets = List.copyOf(subnets);
        securityGroups = List.copyOf(securityGroups);
    }

    /** The settings in {@code env}, or empty if on-demand tasks are not configured (or 0 allowed). */
    public static Optional<BurstSettings> fromEnvironment(Map<String, String> env) {
        String family = env.get(TASK_FAMILY);
        if (family == null || family.isBlank()) {
            return Optional.empty();
        }
        int max = number(env, MAX, 0, 100);
        if (max == 0) {
            return Optional.empty();
        }
        return Optional.of(new BurstSettings(family.strip(), list(env, SUBNETS), list(env, SECURITY_GROUPS), max,
                number(env, IDLE_MINUTES, 1, 1440)));
    }

    private static List<String> list(Map<String, String> env, String name) {
        String v = env.get(name);
        List<String> out = new ArrayList<>();
        if (v != null) {
            for (String part : v.split(",")) {
                if (!part.isBlank()) {
                    out.add(part.strip());
                }
            }
        }
        if (out.isEmpty()) {
            throw new IllegalStateException(name + " is not set: on-demand compute tasks (" + TASK_FAMILY
                    + ") need the compute subnets and security groups");
        }
        return out;
    }

    private static int number(Map<String, String> env, String name, int min, int max) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            throw new IllegalStateException(name + " is not set: on-demand compute tasks (" + TASK_FAMILY + ") need it");
        }
        try {
            int n = Integer.parseInt(v.strip());
            if (n < min || n > max) {
                throw new NumberFormatException("out of range");
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalStateException(name + "='" + v + "' is not a number from " + min + " to " + max);
        }
    }
}
