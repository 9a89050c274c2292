from acekit.cli.main import app

app(prog_name="acekit")
