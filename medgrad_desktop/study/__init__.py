"""Reader studies: a study file, a frozen reading plan in the project store, the reading sessions the
app runs, and the analysis of the answers. No Qt: the app's reading mode and the `medgrad study`
commands both drive this package."""
