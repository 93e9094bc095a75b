"""Timer test app: an every-second schedule from an app setting, run_on_startup, a monitored daily schedule."""

import azure.functions as func

app = func.FunctionApp()

TICKS: list[bool] = []
BOOTS: list[bool] = []
DAILY: list[dict] = []


@app.timer_trigger(arg_name="timer", schedule="%TICK_SCHEDULE%")
def tick(timer: func.TimerRequest) -> None:
    TICKS.append(timer.past_due)


@app.timer_trigger(arg_name="timer", schedule="0 0 0 1 1 *", run_on_startup=True)
def boot(timer: func.TimerRequest) -> None:
    BOOTS.append(timer.past_due)


@app.timer_trigger(arg_name="timer", schedule="0 0 3 * * *")
async def daily(timer: func.TimerRequest) -> None:
    DAILY.append({"past_due": timer.past_due, "status": timer.schedule_status})
