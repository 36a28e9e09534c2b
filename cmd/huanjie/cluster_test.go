package main

import (
	"strings"
	"testing"

	"huanjie/internal/testredis"
)

// The end-to-end tests again, with the bot on the test Redis Cluster (REDIS_ADDRS with
// several seeds makes it a Cluster client). scripts/test.sh starts the cluster and sets
// REDIS_CLUSTER_ADDRS; without it these tests skip.

// startClusterBot runs the bot on the test cluster under prefix.
func startClusterBot(t *testing.T, prefix string) string {
	t.Helper()
	return startBot(t, prefix, "REDIS_URL", "", "REDIS_ADDRS", strings.Join(testredis.ClusterAddrs(), ","))
}

func TestConversationOnRedisCluster(t *testing.T) {
	_, prefix := testredis.ClusterClient(t)
	testConversation(t, startClusterBot(t, prefix))
}

func TestRetriesAnsweredOnceOnRedisCluster(t *testing.T) {
	_, prefix := testredis.ClusterClient(t)
	testRetriesAnsweredOnce(t, []string{startClusterBot(t, prefix), startClusterBot(t, prefix), startClusterBot(t, prefix)})
}
