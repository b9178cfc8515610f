/*
 * dummy_service_win32: rrasfleet-test-service.exe, a do-nothing Windows service that stands
 * in for RemoteAccess under Wine (which has no RRAS), so the agent's service restart runs
 * against the real service control manager (tests/integration/test_wine_remediate.sh).
 *
 * Registered with `sc create RemoteAccess binPath= "...\rrasfleet-test-service.exe LOG [MS]"`.
 * It appends "start" to LOG when it runs and "stop" when it is stopped, so the test can count
 * restarts; with MS it lingers that long in STOP_PENDING (wait hint 2 s) so the agent's wait
 * for STOPPED has something to wait for. It accepts stop and shutdown, nothing else. A test
 * tool: it ships nowhere.
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SVC_NAME L"RemoteAccess"
#define SVC_STOP_HINT_MS 2000u

static SERVICE_STATUS_HANDLE svc_handle;
static SERVICE_STATUS svc_status;
static HANDLE svc_stop_event;
static const char *svc_log_path;
static DWORD svc_stop_delay_ms;

static void svc_log(const char *what)
{
    FILE *f = fopen(svc_log_path, "a");
    if (f != NULL) {
        fprintf(f, "%s\n", what);
        fclose(f);
    }
}

static void svc_report(DWORD state, DWORD wait_hint)
{
    svc_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    svc_status.dwCurrentState = state;
    svc_status.dwControlsAccepted =
        state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
    svc_status.dwWin32ExitCode = NO_ERROR;
    svc_status.dwWaitHint = wait_hint;
    svc_status.dwCheckPoint =
        state == SERVICE_RUNNING || state == SERVICE_STOPPED ? 0 : svc_status.dwCheckPoint + 1;
    SetServiceStatus(svc_handle, &svc_status);
}

static DWORD WINAPI svc_control(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
    (void)type;
    (void)data;
    (void)ctx;
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
        svc_report(SERVICE_STOP_PENDING, SVC_STOP_HINT_MS);
        SetEvent(svc_stop_event);
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

static void WINAPI svc_main(DWORD argc, LPWSTR *argv)
{
    (void)argc;
    (void)argv;
    svc_handle = RegisterServiceCtrlHandlerExW(SVC_NAME, svc_control, NULL);
    if (svc_handle == NULL) {
        return;
    }
    svc_report(SERVICE_START_PENDING, 1000);
    svc_stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (svc_stop_event == NULL) {
        svc_report(SERVICE_STOPPED, 0);
        return;
    }
    svc_log("start");
    svc_report(SERVICE_RUNNING, 0);
    WaitForSingleObject(svc_stop_event, INFINITE);
    if (svc_stop_delay_ms > 0) {
        Sleep(svc_stop_delay_ms);
    }
    svc_log("stop");
    CloseHandle(svc_stop_event);
    svc_report(SERVICE_STOPPED, 0);
}

int main(int argc, char **argv)
{
    static wchar_t name[] = SVC_NAME;
    SERVICE_TABLE_ENTRYW table[] = {{name, svc_main}, {NULL, NULL}};
    if (argc < 2 || argc > 3) {
        fputs("usage: rrasfleet-test-service.exe LOG [STOP-DELAY-MS] (run by the service control "
              "manager)\n",
              stderr);
        return 2;
    }
    svc_log_path = argv[1];
    if (argc == 3) {
        char *end = NULL;
        unsigned long ms = strtoul(argv[2], &end, 10);
        if (end == argv[2] || *end != '\0' || ms > 60000ul) {
            fputs("rrasfleet-test-service: STOP-DELAY-MS: expected 0..60000\n", stderr);
            return 2;
        }
        svc_stop_delay_ms = (DWORD)ms;
    }
    if (!StartServiceCtrlDispatcherW(table)) {
        fprintf(stderr, "rrasfleet-test-service: not started as a service (Windows error %lu)\n",
                (unsigned long)GetLastError());
        return 1;
    }
    return 0;
}
