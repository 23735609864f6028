/*
 * Void payments with gSOAP (C bindings generated from wsdl/payment-service.wsdl by wsdl2h and
 * soapcpp2, see ../run.sh) and time it.
 *
 * One struct soap, SOAP_IO_KEEPALIVE, so every call goes over the same connection; the
 * connection (and the TLS handshake) is opened by the first call, inside the timed loop.
 * Client CPU is getrusage(RUSAGE_SELF) user + system around the loop. Prints one JSON line.
 *
 *   void_client --endpoint URL --soap 1.1|1.2 --ids FILE [--ca-file PEM]
 *               [--account-id ID] [--password PW] [--calls N]
 * Account and password default to INSTAMED_ACCOUNT_ID / INSTAMED_PASSWORD.
 */
#include "soapH.h"
#include "ServiceSoap.nsmap"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

/* User and system CPU seconds of this process so far. */
static void cpu_seconds(double *user, double *system) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  *user = (double)usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6;
  *system = (double)usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static double monotonic_seconds(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + now.tv_nsec / 1e9;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Same rule as `instamed-soap bench`: the sample at round((n - 1) * share). */
static double percentile_ms(const double *sorted, size_t n, double share) {
  if (n == 0) return 0.0;
  size_t index = (size_t)((double)(n - 1) * share + 0.5);
  return sorted[index] * 1e3;
}

/* Counts the connections gSOAP opens, to show that keep-alive held. */
static int connections_opened = 0;
static SOAP_SOCKET (*gsoap_open)(struct soap *, const char *, const char *, int) = NULL;
static SOAP_SOCKET counting_open(struct soap *soap, const char *endpoint, const char *host, int port) {
  connections_opened++;
  return gsoap_open(soap, endpoint, host, port);
}

static char **read_ids(const char *path, size_t *count) {
  FILE *file = fopen(path, "r");
  if (!file) { perror(path); exit(2); }
  size_t capacity = 1024, n = 0;
  char **ids = malloc(capacity * sizeof *ids);
  char line[256];
  while (ids && fgets(line, sizeof line, file)) {
    line[strcspn(line, "\r\n \t")] = '\0';
    if (!line[0]) continue;
    if (n == capacity) ids = realloc(ids, (capacity *= 2) * sizeof *ids);
    if (ids) ids[n++] = strdup(line);
  }
  fclose(file);
  if (!ids) { fputs("out of memory\n", stderr); exit(2); }
  *count = n;
  return ids;
}

static int same(const char *value, const char *expected) {
  return value && strcasecmp(value, expected) == 0;
}

int main(int argc, char **argv) {
  const char *endpoint = NULL, *version = "1.1", *ids_path = NULL, *ca_file = NULL;
  const char *account = getenv("INSTAMED_ACCOUNT_ID"), *password = getenv("INSTAMED_PASSWORD");
  const char *merchant = "123123123", *store = "123", *terminal = "123";
  long limit = -1;
  static struct option options[] = {
      {"endpoint", required_argument, 0, 'e'}, {"soap", required_argument, 0, 'v'},
      {"ids", required_argument, 0, 'i'},      {"ca-file", required_argument, 0, 'c'},
      {"account-id", required_argument, 0, 'a'}, {"password", required_argument, 0, 'p'},
      {"calls", required_argument, 0, 'n'},    {0, 0, 0, 0}};
  for (int option; (option = getopt_long(argc, argv, "", options, NULL)) != -1;) {
    switch (option) {
      case 'e': endpoint = optarg; break;
      case 'v': version = optarg; break;
      case 'i': ids_path = optarg; break;
      case 'c': ca_file = optarg; break;
      case 'a': account = optarg; break;
      case 'p': password = optarg; break;
      case 'n': limit = atol(optarg); break;
      default: return 2;
    }
  }
  int soap12 = strcmp(version, "1.2") == 0;
  if (!endpoint || !ids_path || (!soap12 && strcmp(version, "1.1") != 0)) {
    fputs("usage: void_client --endpoint URL --soap 1.1|1.2 --ids FILE [--ca-file PEM] "
          "[--account-id ID] [--password PW] [--calls N]\n", stderr);
    return 2;
  }
  size_t calls;
  char **ids = read_ids(ids_path, &calls);
  if (limit >= 0 && (size_t)limit < calls) calls = (size_t)limit;
  if (calls == 0) { fputs("no payment IDs to void\n", stderr); return 2; }

  struct soap *soap = soap_new1(SOAP_IO_KEEPALIVE);
  soap->connect_timeout = 30;
  soap->send_timeout = 30;
  soap->recv_timeout = 30;
  gsoap_open = soap->fopen;
  soap->fopen = counting_open;
  if (strncmp(endpoint, "https:", 6) == 0) {
    soap_ssl_init();
    /* SOAP_SSL_DEFAULT: the server's certificate and host name are verified. */
    if (soap_ssl_client_context(soap, SOAP_SSL_DEFAULT | SOAP_TLSv1_2 | SOAP_TLSv1_3, NULL, NULL,
                                ca_file, NULL, NULL)) {
      soap_print_fault(soap, stderr);
      return 1;
    }
  }

  struct ns1__SecondaryCreditCardVoidRequestData transaction;
  memset(&transaction, 0, sizeof transaction);
  transaction.MerchantID = (char *)merchant;
  transaction.StoreID = (char *)store;
  transaction.TerminalID = (char *)terminal;
  transaction.PrimaryCardPresentStatus = "PresentManualKey";
  struct _ns1__DoCreditCardSecondaryVoid request = {&transaction};
  struct _ns1__DoCreditCardSecondaryVoidResponse response;

  double *latencies = malloc(calls * sizeof *latencies);
  if (!latencies) { fputs("out of memory\n", stderr); return 2; }
  size_t failures = 0;
  int reported = 0;
  double user_before, system_before, user_after, system_after;
  cpu_seconds(&user_before, &system_before);
  double started = monotonic_seconds();
  for (size_t i = 0; i < calls; i++) {
    double call_started = monotonic_seconds();
    transaction.PrimaryTransactionID = ids[i];
    soap->userid = account; /* HTTP Basic, set for every call */
    soap->passwd = password;
    int rc = soap12 ? soap_call___ns1__DoCreditCardSecondaryVoid_(soap, endpoint, NULL, &request, &response)
                    : soap_call___ns1__DoCreditCardSecondaryVoid(soap, endpoint, NULL, &request, &response);
    int voided = 0;
    if (rc == SOAP_OK) {
      struct ns1__SecondaryCreditCardVoidResponseData *result = response.DoCreditCardSecondaryVoidResult;
      voided = result && same(result->TransactionStatus, "C") && same(result->PrimaryTransactionStatus, "V") &&
               same(result->PrimaryTransactionID, ids[i]);
      if (!voided && !reported++)
        fprintf(stderr, "gsoap: first failure: %s not voided (TransactionStatus %s, PrimaryTransactionStatus %s)\n",
                ids[i], result && result->TransactionStatus ? result->TransactionStatus : "-",
                result && result->PrimaryTransactionStatus ? result->PrimaryTransactionStatus : "-");
    } else {
      if (!reported++) {
        fprintf(stderr, "gsoap: first failure: %s: ", ids[i]);
        soap_print_fault(soap, stderr);
      }
      soap_closesock(soap);
    }
    failures += !voided;
    soap_destroy(soap);
    soap_end(soap); /* frees what the answer allocated; the connection stays open */
    latencies[i] = monotonic_seconds() - call_started;
  }
  double wall = monotonic_seconds() - started;
  cpu_seconds(&user_after, &system_after);
  double user = user_after - user_before, system = system_after - system_before, cpu = user + system;

  qsort(latencies, calls, sizeof *latencies, by_value);
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  printf("{\"client\": \"gsoap\", \"protocol\": \"%s\", \"scheme\": \"%s\", \"calls\": %zu, \"failures\": %zu, "
         "\"calls_per_s\": %.3f, \"cpu_ms_per_call\": %.6f, \"user_ms_per_call\": %.6f, "
         "\"sys_ms_per_call\": %.6f, \"p50_ms\": %.6f, \"p99_ms\": %.6f, "
         "\"connections\": %d, \"peak_rss_mib\": %.1f, \"version\": \"gSOAP %d.%d.%d (%s)\"}\n",
         soap12 ? "soap12" : "soap11", strncmp(endpoint, "https:", 6) == 0 ? "https" : "http", calls, failures,
         calls / wall, cpu * 1e3 / calls, user * 1e3 / calls, system * 1e3 / calls,
         percentile_ms(latencies, calls, 0.50), percentile_ms(latencies, calls, 0.99), connections_opened, usage.ru_maxrss / 1024.0,
         GSOAP_VERSION / 100000, GSOAP_VERSION / 1000 % 100, GSOAP_VERSION % 1000,
         OpenSSL_version(OPENSSL_VERSION));
  soap_free(soap);
  return failures ? 1 : 0;
}
